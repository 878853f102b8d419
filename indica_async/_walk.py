"""The concurrent walk over date windows: schedule the planner's requests, yield pages.

This is the only I/O-aware part of the window walk; the decisions live in the pure
`WindowPlanner`. Tasks are created lazily, at most ``concurrency`` at a time, and
completed pages wait in a bounded look-ahead, so memory does not grow with the
length of the range or with a slow consumer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine, Sequence
from typing import Any

import attrs

from ._errors import APIError, with_context
from ._seen import SeenIds
from ._windows import Verdict, Window, WindowPlanner, WindowRequest
from .models import Customer

__all__ = ["Page", "Progress", "walk_pages"]

logger = logging.getLogger("indica_async")


@attrs.frozen
class Page:
    """The customers created in one window, fetched with one request.

    The API gives customers no creation date; the window they came from is the only
    record of it.
    """

    window: Window
    limit: int
    customers: Sequence[Customer]

    @property
    def first_day(self) -> dt.date:
        """The window's first day."""
        return self.window.first

    @property
    def last_day(self) -> dt.date:
        """The window's last day (inclusive)."""
        return self.window.last


@attrs.define
class Progress:
    """Live counters of one `pages`/`iterate` call, for progress displays.

    Pass one in and read it while the iteration runs; the SDK only ever adds to it.
    """

    days_total: int = 0
    days_done: int = 0
    requests: int = 0
    retries: int = 0
    windows_split: int = 0
    limits_escalated: int = 0
    cap_checks: int = 0
    server_cap: int | None = None
    pages: int = 0
    customers: int = 0
    #: Records not yielded because their customer id was yielded before: the server
    #: repeated a customer inside a page or across windows (with ``dedupe``, the default).
    duplicates_dropped: int = 0
    #: Single days that came back short but as large as anything the server ever
    #: returned, before any cap on ``limit`` was seen: if the server caps ``limit`` at
    #: exactly that count they may hold more. Empty in all but pathological cases.
    unverified_days: dict[dt.date, int] = attrs.field(factory=dict)


Fetch = Callable[[WindowRequest], Coroutine[Any, Any, Sequence[Customer]]]


async def walk_pages(
    fetch: Fetch,
    planner: WindowPlanner,
    *,
    concurrency: int,
    ordered: bool,
    lookahead: int,
    progress: Progress,
    dedupe: bool,
) -> AsyncGenerator[Page, None]:
    """Yield every window's page; in date order if ``ordered``, else as they complete."""
    progress.days_total = planner.total_days
    in_flight: dict[asyncio.Task[Sequence[Customer]], WindowRequest] = {}
    ready: dict[dt.date, Page] = {}
    next_day = planner.start
    seen = SeenIds() if dedupe else None

    def finish(page: Page) -> Page:
        if seen is not None:
            fresh = [c for c in page.customers if seen.add(c.id)]
            if len(fresh) != len(page.customers):
                progress.duplicates_dropped += len(page.customers) - len(fresh)
                page = attrs.evolve(page, customers=fresh)
        progress.pages += 1
        progress.customers += len(page.customers)
        return page

    try:
        while True:
            while len(in_flight) < concurrency:
                # Re-fetches of earlier days are always allowed; new windows only while
                # the look-ahead has room.
                request = planner.next_request(new_windows=len(in_flight) + len(ready) < lookahead)
                if request is None:
                    break
                progress.requests += 1
                in_flight[asyncio.create_task(fetch(request))] = request
            if not in_flight:
                if not ready and planner.done:
                    _report_unverified(planner, progress)
                    return
                raise AssertionError("window walk stalled")  # pragma: no cover - a bug
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: in_flight[t].window):
                request = in_flight.pop(task)
                customers = _result_with_window(task, request.window)
                # The ids, so that a customer the server repeats is not counted twice.
                verdict = planner.record(request, len(customers), ids=[c.id for c in customers])
                _copy_planner_counters(planner, progress)
                if verdict is not Verdict.COMPLETE:
                    continue
                page = Page(request.window, request.limit, customers)
                if ordered:
                    ready[page.first_day] = page
                else:
                    yield finish(page)
            while next_day in ready:
                page = ready.pop(next_day)
                next_day = page.last_day + dt.timedelta(days=1)
                yield finish(page)
    finally:
        for task in in_flight:
            task.cancel()
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)


def _result_with_window(
    task: asyncio.Task[Sequence[Customer]], window: Window
) -> Sequence[Customer]:
    try:
        return task.result()
    except APIError as exc:
        # A copy that names the window, built whole: the request's own error is not
        # edited while it propagates.
        raise with_context(exc, window=window) from None


def _report_unverified(planner: WindowPlanner, progress: Progress) -> None:
    progress.unverified_days = planner.unverified_days
    if progress.unverified_days:
        days = ", ".join(d.isoformat() for d in sorted(progress.unverified_days))
        logger.warning(
            "could not verify that these days are complete (the server may cap limit at "
            "the count they returned): %s",
            days,
        )


def _copy_planner_counters(planner: WindowPlanner, progress: Progress) -> None:
    progress.days_done = planner.days_done
    progress.windows_split = planner.splits
    progress.limits_escalated = planner.escalations
    progress.cap_checks = planner.cap_checks
    progress.server_cap = planner.cap
