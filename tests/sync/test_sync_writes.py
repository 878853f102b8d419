"""How a run's rows reach the store: many rows per statement, and one page's write
overlapping the next page's encoding, without ever leaving a write behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from sqlalchemy import select

import indica_async.sync._dialect
from indica_async.sync import Store
from indica_async.sync import _schema as schema
from indica_async.sync._dialect import insert_rows_ignoring_conflicts, store_day
from indica_async.sync._write import store_pages


@pytest.mark.parametrize("variables", [999, None], ids=["999-variables", "default"])
async def test_rows_go_in_whole_statements_and_a_remainder_skipping_conflicts(
    store_target: str, variables: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if variables is not None:  # SQLite before 3.32: statements of 199 rows of 5
        monkeypatch.setattr(indica_async.sync._dialect, "_SQLITE_VARIABLES", variables)
    columns = ("account_id", "customer_id", "data", "window_start", "window_end")
    first, last = dt.date(2024, 2, 28), dt.date(2024, 3, 1)
    async with Store(store_target) as store:
        async with store.write() as connection:
            await connection.execute(
                schema.accounts.insert().values(
                    id=1, name="a", created_at=dt.datetime.now(dt.timezone.utc)
                )
            )
            day = store_day(connection)

            def rows(ids: range, text: str) -> list[tuple[Any, ...]]:
                return [(1, i, f'{{"id":{i},"v":"{text}"}}', day(first), day(last)) for i in ids]

            # With 999 parameters a statement, 406 rows are two whole statements and a
            # remainder; 150 of them are already there, one is in twice.
            await insert_rows_ignoring_conflicts(connection, schema.staging, columns, [])
            await insert_rows_ignoring_conflicts(
                connection, schema.staging, columns, rows(range(100, 250), "old")
            )
            await insert_rows_ignoring_conflicts(
                connection,
                schema.staging,
                columns,
                rows(range(405), "new") + rows(range(404, 405), "again"),
            )
        async with store.read() as connection:
            found = (
                await connection.execute(
                    select(
                        schema.staging.c.customer_id,
                        schema.staging.c.data,
                        schema.staging.c.window_start,
                        schema.staging.c.window_end,
                    ).order_by(schema.staging.c.customer_id)
                )
            ).all()
    assert [row.customer_id for row in found] == list(range(405))
    for row in found:
        kept = "old" if 100 <= row.customer_id < 250 else "new"
        assert row.data == f'{{"id":{row.customer_id},"v":"{kept}"}}'
        assert (row.window_start, row.window_end) == (first, last)


class _Pages:
    """An async generator of numbered pages that records what happened, in order."""

    def __init__(self, count: int, events: list[str]) -> None:
        self.count = count
        self.events = events
        self.closed = False

    async def __call__(self) -> AsyncGenerator[Any, None]:
        try:
            for number in range(1, self.count + 1):
                await asyncio.sleep(0)
                yield number
        finally:
            self.closed = True


def _rows_of(events: list[str]) -> Any:
    def rows_of(page: Any) -> list[tuple[Any, ...]]:
        events.append(f"rows {page}")
        return [(page,)]

    return rows_of


async def test_the_next_page_is_encoded_while_the_last_one_is_written() -> None:
    events: list[str] = []
    pages = _Pages(3, events)
    written: list[int] = []

    async def write(rows: list[tuple[Any, ...]]) -> None:
        events.append(f"write {rows[0][0]}")
        for _ in range(3):
            await asyncio.sleep(0)  # the driver's thread at work
        written.append(rows[0][0])
        events.append(f"written {rows[0][0]}")

    await store_pages(pages(), _rows_of(events), write, batch=1)

    assert written == [1, 2, 3]
    assert events == [
        "rows 1",
        "write 1",
        "rows 2",  # before page 1 is written
        "written 1",
        "write 2",
        "rows 3",
        "written 2",
        "write 3",
        "written 3",
    ]
    assert pages.closed


@pytest.mark.parametrize("per_page", [3, 12])
async def test_rows_are_written_in_batches_of_exactly_batch_rows(per_page: int) -> None:
    written: list[list[tuple[int, int]]] = []

    def rows_of(page: Any) -> list[tuple[Any, ...]]:
        return [(page, n) for n in range(per_page)]

    async def write(rows: list[tuple[Any, ...]]) -> None:
        written.append(list(rows))

    await store_pages(_Pages(5, [])(), rows_of, write, batch=5)

    # Every row once, in order; every write but the last of 5 rows (pages larger than
    # a batch too), so the store prepares statements of two lengths at most.
    assert [row for rows in written for row in rows] == [
        (page, n) for page in range(1, 6) for n in range(per_page)
    ]
    assert {len(rows) for rows in written[:-1]} == {5}
    assert 0 < len(written[-1]) <= 5


async def test_a_failed_write_stops_the_walk_and_is_the_error_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[str] = []
    pages = _Pages(10, events)

    async def write(rows: list[tuple[Any, ...]]) -> None:
        await asyncio.sleep(0)
        if rows[0][0] == 2:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await store_pages(pages(), _rows_of(events), write, batch=1)

    # Page 3 was encoded while page 2 was written; nothing after it was.
    assert events == ["rows 1", "rows 2", "rows 3"]
    assert pages.closed
    gc.collect()
    assert "never retrieved" not in caplog.text


@pytest.mark.parametrize("stop", ["error", "cancel"])
async def test_a_run_stopped_mid_write_waits_for_the_write_first(stop: str) -> None:
    events: list[str] = []
    pages = _Pages(10, events)
    writing = asyncio.Event()
    release = asyncio.Event()

    async def write(rows: list[tuple[Any, ...]]) -> None:
        events.append(f"write {rows[0][0]}")
        writing.set()
        await release.wait()
        events.append(f"written {rows[0][0]}")

    def rows_of(page: Any) -> list[tuple[Any, ...]]:
        events.append(f"rows {page}")
        if stop == "error" and page == 2:
            raise ValueError("a page that cannot be stored")
        return [(page,)]

    task = asyncio.ensure_future(store_pages(pages(), rows_of, write, batch=1))
    await writing.wait()
    if stop == "cancel":
        await asyncio.sleep(0)  # page 2 encoded, its write waiting for page 1's
        task.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    # The write in flight holds the connection: the run has not ended before it.
    assert not task.done()
    release.set()
    expected = asyncio.CancelledError if stop == "cancel" else ValueError
    with pytest.raises(expected):
        await task
    assert events == ["rows 1", "write 1", "rows 2", "written 1"]
    assert pages.closed
