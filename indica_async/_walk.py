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
import operator
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


#: One request of the walk: the body of its 2xx answer, not yet decoded.
Fetch = Callable[[WindowRequest], Coroutine[Any, Any, bytes]]
#: A list response's body to its customers; raises `DecodeError`.
Decode = Callable[[bytes], Sequence[Customer]]

_ONE_DAY = dt.timedelta(days=1)
_customer_id = operator.attrgetter("id")


async def walk_pages(
    fetch: Fetch,
    decode: Decode,
    planner: WindowPlanner,
    *,
    concurrency: int,
    ordered: bool,
    lookahead: int,
    progress: Progress,
    dedupe: bool,
) -> AsyncGenerator[Page, None]:
    """Yield every window's page; in date order if ``ordered``, else as they complete.

    Bodies are decoded here, one at a time as the walk takes them, not in the request
    tasks: a page's models then live from its decode until its consumer is done with
    it, instead of from the moment its response arrives. The collector, which traverses
    every live model again and again, is what that spares.
    """
    progress.days_total = planner.total_days
    in_flight: dict[asyncio.Task[bytes], WindowRequest] = {}
    # Complete pages waiting for their turn, with their customers' ids.
    ready: dict[dt.date, tuple[Page, list[int]]] = {}
    next_day = planner.start
    seen = SeenIds() if dedupe else None

    def finish(page: Page, ids: list[int]) -> Page:
        if seen is not None:
            repeats = seen.add_all(ids)
            if repeats:
                progress.duplicates_dropped += len(repeats)
                dropped = set(repeats)
                fresh = [c for at, c in enumerate(page.customers) if at not in dropped]
                page = attrs.evolve(page, customers=fresh)
        progress.pages += 1
        progress.customers += len(page.customers)
        return page

    def take(task: asyncio.Task[bytes]) -> tuple[Page, list[int]] | None:
        """Decode a finished request's body and record it; its page if complete."""
        request = in_flight.pop(task)
        customers = _decoded(task, request.window, decode)
        # The ids, so that a customer the server repeats is not counted twice.
        ids: list[int] = list(map(_customer_id, customers))
        verdict = planner.record(request, len(customers), ids=ids)
        _copy_planner_counters(planner, progress)
        if verdict is not Verdict.COMPLETE:
            return None
        return Page(request.window, request.limit, customers), ids

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
            # No local name holds a page once it is yielded: it must not outlive its
            # consumer's use of it while the next body is decoded.
            for task in sorted(done, key=lambda t: in_flight[t].window):
                taken = take(task)
                if taken is None:
                    continue
                if not ordered:
                    yield finish(*taken)
                    taken = None
                    continue
                ready[taken[0].first_day] = taken
                taken = None
                # Yield what is in order before the next body is decoded.
                while next_day in ready:
                    day, next_day = next_day, ready[next_day][0].last_day + _ONE_DAY
                    yield finish(*ready.pop(day))
    finally:
        for task in in_flight:
            task.cancel()
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)


def _decoded(task: asyncio.Task[bytes], window: Window, decode: Decode) -> Sequence[Customer]:
    try:
        return decode(task.result())
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
