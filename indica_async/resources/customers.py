"""``client.customers``: lookups, one list request, and the complete window walk."""

from __future__ import annotations

import builtins
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Protocol

from .._config import DEFAULT_CONCURRENCY, DEFAULT_LIMIT, DEFAULT_MAX_LIMIT, Timeout
from .._converters import decode_customer_body, decode_list_body
from .._errors import InvalidArgumentError
from .._sansio import (
    LIST_PATH,
    STATE_ID_LABEL,
    DateLike,
    check_positive_int,
    check_state_id,
    customer_path,
    list_params,
    parse_range,
    state_id_path,
)
from .._walk import Page, Progress, walk_pages
from .._windows import Window, WindowPlanner, WindowRequest
from ..models import Customer

__all__ = ["CustomersResource"]


class Get(Protocol):
    """The client's request function, as a resource sees it: the body of a 2xx answer."""

    async def __call__(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        on_retry: Callable[[], None] | None = None,
        label: str | None = None,
    ) -> bytes: ...


class CustomersResource:
    """The customers endpoints. Reached as ``client.customers``."""

    def __init__(self, get: Get, *, strict: bool = False) -> None:
        self._get = get
        self._strict = strict

    async def get(
        self,
        customer_id: int,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> Customer:
        """One customer by id. `NotFoundError` if none; needs the PRO plan."""
        path = customer_path(check_positive_int(customer_id, "customer_id"))
        body = await self._get(path, timeout=timeout, max_retries=max_retries)
        return decode_customer_body(body, strict=self._strict, request_path=path)

    async def get_by_state_id(
        self,
        state_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> Customer:
        """One customer by state ID number. `NotFoundError` if none; needs the PRO plan."""
        path = state_id_path(check_state_id(state_id))
        # The state ID number is personal data: logs and errors show the route instead.
        body = await self._get(path, timeout=timeout, max_retries=max_retries, label=STATE_ID_LABEL)
        return decode_customer_body(body, strict=self._strict, request_path=STATE_ID_LABEL)

    async def list(
        self,
        *,
        start_date: DateLike,
        end_date: DateLike,
        limit: int = DEFAULT_LIMIT,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> builtins.list[Customer]:
        """One request: customers created from ``start_date`` to ``end_date`` inclusive.

        At most ``limit`` are returned, and the server may return fewer than exist;
        use `iterate` for every customer of a range.
        """
        start, end = parse_range(start_date, end_date)
        limit = check_positive_int(limit, "limit")
        body = await self._list_body(
            WindowRequest(Window(start, end), limit), timeout=timeout, max_retries=max_retries
        )
        return self._decode_list(body)

    def pages(
        self,
        *,
        start_date: DateLike,
        end_date: DateLike,
        limit: int = DEFAULT_LIMIT,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_limit: int = DEFAULT_MAX_LIMIT,
        initial_days: int | None = None,
        ordered: bool = True,
        lookahead: int | None = None,
        dedupe: bool = True,
        detect_cap: bool = True,
        progress: Progress | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> AsyncGenerator[Page, None]:
        """Every customer created in the range, as pages, each with its date window.

        Windows are disjoint and cover every day once. A full page is split and
        fetched again; a full single day is retried with limits up to ``max_limit``,
        then `WindowOverflowError` is raised. Arguments are checked here, before any
        request; requests start when iteration does.

        Args:
            limit: records asked per request.
            concurrency: requests of this walk in flight at most.
            max_limit: the largest limit asked for when re-fetching a full window or day.
            initial_days: the first window's size; by default sized automatically.
            ordered: yield pages in date order (default), or as they complete.
            lookahead: windows fetched ahead of the consumer (default 2 x concurrency).
            dedupe: yield each customer id once (the default), even from a server that
                repeats one inside a page or across windows; `Progress.duplicates_dropped`
                counts what was dropped. Costs about one bit an id for dense ids.
            detect_cap: check whether the server silently caps ``limit``.
            progress: a `Progress` the walk keeps current.
        """
        start, end = parse_range(start_date, end_date)
        planner = WindowPlanner(
            start,
            end,
            limit=check_positive_int(limit, "limit"),
            max_limit=check_positive_int(max_limit, "max_limit"),
            initial_days=(
                None if initial_days is None else check_positive_int(initial_days, "initial_days")
            ),
            detect_cap=detect_cap,
        )
        concurrency = check_positive_int(concurrency, "concurrency")
        lookahead = (
            2 * concurrency if lookahead is None else check_positive_int(lookahead, "lookahead")
        )
        if not all(isinstance(flag, bool) for flag in (ordered, dedupe, detect_cap)):
            raise InvalidArgumentError("ordered, dedupe and detect_cap must be bools")
        if progress is not None and not isinstance(progress, Progress):
            raise InvalidArgumentError(
                f"progress must be a Progress, got {type(progress).__name__}"
            )
        progress = progress if progress is not None else Progress()

        def retried() -> None:
            progress.retries += 1

        async def fetch(request: WindowRequest) -> bytes:
            return await self._list_body(
                request, timeout=timeout, max_retries=max_retries, on_retry=retried
            )

        return walk_pages(
            fetch,
            self._decode_list,
            planner,
            concurrency=concurrency,
            ordered=ordered,
            lookahead=max(lookahead, 1),
            progress=progress,
            dedupe=dedupe,
        )

    def iterate(
        self,
        *,
        start_date: DateLike,
        end_date: DateLike,
        limit: int = DEFAULT_LIMIT,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_limit: int = DEFAULT_MAX_LIMIT,
        initial_days: int | None = None,
        ordered: bool = True,
        lookahead: int | None = None,
        dedupe: bool = True,
        detect_cap: bool = True,
        progress: Progress | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> AsyncGenerator[Customer, None]:
        """Every customer created from ``start_date`` to ``end_date``, exactly once.

        Built on `pages`, with the same arguments. Close it early with
        ``contextlib.aclosing`` (or let ``break`` drop it) and in-flight requests are
        cancelled.
        """
        pages = self.pages(
            start_date=start_date,
            end_date=end_date,
            limit=limit,
            concurrency=concurrency,
            max_limit=max_limit,
            initial_days=initial_days,
            ordered=ordered,
            lookahead=lookahead,
            dedupe=dedupe,
            detect_cap=detect_cap,
            progress=progress,
            timeout=timeout,
            max_retries=max_retries,
        )
        return _flatten(pages)

    async def _list_body(
        self,
        request: WindowRequest,
        *,
        timeout: float | Timeout | None,
        max_retries: int | None,
        on_retry: Callable[[], None] | None = None,
    ) -> bytes:
        window = request.window
        params = list_params(window.first, window.last, request.limit)
        return await self._get(
            LIST_PATH, params, timeout=timeout, max_retries=max_retries, on_retry=on_retry
        )

    def _decode_list(self, body: bytes) -> builtins.list[Customer]:
        # A body that does not decode is never retried: the server answered, wrongly.
        return decode_list_body(body, strict=self._strict, request_path=LIST_PATH)


async def _flatten(pages: AsyncGenerator[Page, None]) -> AsyncGenerator[Customer, None]:
    # Close the page walk deterministically when this generator is closed or dropped.
    try:
        async for page in pages:
            for customer in page.customers:
                yield customer
            # Nothing consumed stays referenced while the next page is awaited: the
            # collector would keep traversing it.
            if page.customers:
                del customer
            del page
    finally:
        await pages.aclose()
