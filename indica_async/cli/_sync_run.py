"""The work behind ``customers sync`` and ``customers changes`` (imports SQLAlchemy)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any

import orjson
from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from ..sync import (
    ChangeRecord,
    NoStoreError,
    Store,
    StoreError,
    SyncProgress,
    SyncReport,
    sync,
)
from ._atomic import replacing
from ._connect import Connection, open_client
from ._exit import EXIT_FAILURE, CLIError

__all__ = [
    "CHANGE_COLUMNS",
    "replacing",
    "store_errors",
    "summary",
    "sync_with_progress",
    "write_changes",
]

#: The columns of ``changes --format csv``; ``before``/``after`` hold JSON objects.
CHANGE_COLUMNS = ("run", "customer_id", "kind", "fields", "before", "after")


@contextlib.contextmanager
def store_errors() -> Iterator[None]:
    try:
        yield
    except StoreError as exc:
        raise CLIError(str(exc), EXIT_FAILURE) from None
    except SQLAlchemyError as exc:
        # The class only: the message may quote the store's SQL and its data.
        raise CLIError(f"the store failed: {type(exc).__name__}", EXIT_FAILURE) from None


class _SyncBar:
    """Phase, days walked, customers, requests and lookups, on stderr."""

    def __init__(self, progress: SyncProgress) -> None:
        self._progress = progress
        self._bar = RichProgress(
            SpinnerColumn(),
            TextColumn("[bold]sync[/] {task.fields[phase]}"),
            TextColumn("{task.fields[days]} days"),
            TextColumn("{task.fields[customers]:,} customers"),
            TextColumn("{task.fields[requests]:,} requests"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=True,
        )
        self._task = self._bar.add_task("sync", phase="", days="", customers=0, requests=0)

    async def follow(self) -> None:
        with self._bar:
            while True:
                walk = self._progress.walk
                self._bar.update(
                    self._task,
                    phase=self._progress.phase,
                    days=f"{walk.days_done}/{walk.days_total}",
                    customers=walk.customers,
                    requests=walk.requests + self._progress.lookups,
                )
                await asyncio.sleep(0.1)


def summary(report: SyncReport) -> str:
    """The one-line summary of a run."""
    return (
        f"sync of {report.account!r} ({report.mode}, {report.start_date} to "
        f"{report.end_date}): {report.new:,} new, {report.changed:,} changed, "
        f"{report.deleted:,} deleted, {report.missing:,} missing, {report.restored:,} restored, "
        f"{report.unchanged:,} unchanged; {report.requests:,} requests in "
        f"{report.seconds:.1f} s (run {report.run_id})"
    )


async def sync_with_progress(
    connection: Connection,
    *,
    db: str,
    account: str,
    since: dt.date | None,
    full: bool,
    wait: bool,
    limit: int,
    max_limit: int,
    concurrency: int,
    show_progress: bool,
) -> SyncReport:
    store = Store(db, create=since is not None)
    try:
        await store.open()
    except NoStoreError as exc:
        raise StoreError(f"{exc}: the first sync of an account needs --since") from None
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(store.aclose)
        start = since
        if connection.sandbox is not None and start is None:
            stored = await store.account(account)
            start = stored.since if stored is not None else None
        async with open_client(
            connection, start=start, end=dt.date.today() if start else None
        ) as client:
            progress = SyncProgress()
            running = sync(
                client,
                store,
                account,
                since=since,
                full=full,
                wait=wait,
                progress=progress,
                limit=limit,
                max_limit=max_limit,
                concurrency=concurrency,
            )
            if not show_progress:
                return await running
            follower = asyncio.ensure_future(_SyncBar(progress).follow())
            try:
                return await running
            finally:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower


def _csv_line(record: ChangeRecord) -> str:
    buffer = io.StringIO()

    def text(value: dict[str, Any] | None) -> str:
        return "" if value is None else orjson.dumps(value).decode()

    csv.writer(buffer, lineterminator="\n").writerow(
        [
            record.run,
            record.customer_id,
            record.kind,
            ";".join(record.fields),
            text(record.before),
            text(record.after),
        ]
    )
    return buffer.getvalue()


async def write_changes(
    db: str, account: str, since: dt.date | None, run: int | None, fmt: str, out: IO[bytes]
) -> int:
    count = 0
    async with Store(db, create=False) as store:
        if await store.account(account) is None:
            raise StoreError(f"no account named {account!r} in the store")
        if fmt == "csv":
            out.write((",".join(CHANGE_COLUMNS) + "\n").encode())
        changes: AsyncIterator[ChangeRecord] = store.changes(account, since=since, run=run)
        async for record in changes:
            if fmt == "csv":
                out.write(_csv_line(record).encode())
            else:
                out.write(orjson.dumps(record.to_json(), option=orjson.OPT_APPEND_NEWLINE))
            count += 1
    return count
