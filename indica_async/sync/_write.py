"""A walk's pages into a table: rows made page by page, written in fixed batches with
one write in flight while the walk goes on."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Final

from .._converters import customer_to_json
from .._walk import Page

__all__ = ["NEW_COLUMNS", "STAGED_COLUMNS", "new_rows", "staged_rows", "store_pages"]

#: Rows a write to the store takes (the last one excepted): about 2.5 MB.
WRITE_ROWS: Final = 2000


async def store_pages(
    pages: AsyncGenerator[Page, None],
    rows_of: Callable[[Page], list[tuple[Any, ...]]],
    write: Callable[[list[tuple[Any, ...]]], Awaitable[None]],
    *,
    batch: int = WRITE_ROWS,
) -> None:
    """Write every page's rows in batches of ``batch`` rows (the last one excepted), one
    write in flight while the next batch is made.

    The database works in its driver's thread, so a write overlaps with the walk and
    with encoding the next rows instead of following them. Large batches keep the
    trips to that thread (each waits for the GIL) few. Closes ``pages``; a failed write
    stops the walk.
    """
    writing: asyncio.Future[None] | None = None
    rows: list[tuple[Any, ...]] = []
    try:
        async for page in pages:
            rows += rows_of(page)
            while len(rows) >= batch:
                if writing is not None:
                    # Shielded: a cancelled run must not cancel a statement mid-way;
                    # the finally clause waits for it.
                    await asyncio.shield(writing)
                # Exactly ``batch`` rows: SQLite keeps each statement it prepared, and
                # one of another length would be another copy, megabytes large.
                writing, rows = asyncio.ensure_future(write(rows[:batch])), rows[batch:]
        if writing is not None:
            await asyncio.shield(writing)
        if rows:
            writing = asyncio.ensure_future(write(rows))
            await asyncio.shield(writing)
    finally:
        try:
            if writing is not None and not writing.done():
                # Never leave the connection in use by a write nobody waits for.
                await asyncio.wait({writing})
        finally:
            if writing is not None and writing.done() and not writing.cancelled():
                writing.exception()  # retrieved: the error that stopped us is raised
            await pages.aclose()


STAGED_COLUMNS: Final = ("account_id", "customer_id", "data", "window_start", "window_end")

NEW_COLUMNS: Final = (
    "account_id",
    "customer_id",
    "data",
    "status",
    "first_window_start",
    "first_window_end",
    "first_run",
    "last_seen_run",
)


def staged_rows(
    account_id: int, page: Page, day: Callable[[dt.date], Any]
) -> list[tuple[Any, ...]]:
    start, end = day(page.first_day), day(page.last_day)
    return [
        (account_id, customer.id, customer_to_json(customer).decode(), start, end)
        for customer in page.customers
    ]


def new_rows(
    account_id: int, run_id: int, page: Page, day: Callable[[dt.date], Any]
) -> list[tuple[Any, ...]]:
    start, end = day(page.first_day), day(page.last_day)
    return [
        (
            account_id,
            customer.id,
            customer_to_json(customer).decode(),
            "active",
            start,
            end,
            run_id,
            run_id,
        )
        for customer in page.customers
    ]
