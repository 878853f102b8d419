"""``customers sync`` and ``customers changes``: keep a database equal to the API."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any

import click
import orjson
from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from ..sync import (
    ChangeRecord,
    Store,
    StoreError,
    SyncProgress,
    SyncReport,
    sync,
)
from ._app import _api_options, _connection, _route_sdk_warnings, _run
from ._connect import Connection, open_client
from ._dates import DATE
from ._exit import EXIT_FAILURE, EXIT_OK, CLIError, say

__all__ = ["changes_command", "sync_command"]

_DB_HELP = "The store: an SQLite file (created if absent) or a postgresql:// URL."
#: The columns of ``changes --format csv``; ``before``/``after`` hold JSON objects.
CHANGE_COLUMNS = ("run", "customer_id", "kind", "fields", "before", "after")


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except StoreError as exc:
        raise CLIError(str(exc), EXIT_FAILURE) from None


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


async def _sync(
    connection: Connection,
    *,
    api_key: str | None,
    db: str,
    account: str,
    since: dt.date | None,
    full: bool,
    wait: bool,
    show_progress: bool,
) -> SyncReport:
    async with Store(db) as store:
        start = since
        if connection.sandbox is not None and start is None:
            stored = await store.account(account)
            start = stored.since if stored is not None else None
        async with open_client(
            connection, api_key=api_key, start=start, end=dt.date.today() if start else None
        ) as client:
            progress = SyncProgress()
            running = sync(
                client, store, account, since=since, full=full, wait=wait, progress=progress
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


@click.command("sync")
@click.option("--db", required=True, metavar="PATH|URL", help=_DB_HELP)
@click.option(
    "--account",
    default="default",
    show_default=True,
    metavar="NAME",
    help="The name this account's customers are kept under in the store.",
)
@click.option(
    "--since",
    type=DATE,
    help="First creation day; needed on an account's first run (later: the full range).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Walk the whole range again: find changed, deleted and restored customers too.",
)
@click.option(
    "--wait", is_flag=True, help="Wait for a run in progress on the account instead of failing."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display and no summary.")
@_api_options
@click.pass_context
def sync_command(
    ctx: click.Context,
    /,
    db: str,
    account: str,
    since: dt.date | None,
    full: bool,
    wait: bool,
    quiet: bool,
    **api: Any,
) -> int:
    """Bring the store up to date: new customers (and, with --full, changed, deleted and
    restored ones), every change recorded. A run that fails changes nothing."""
    connection = _connection(ctx, api)
    api_key = connection.api_key()
    _route_sdk_warnings(show=not quiet)
    with _store_errors():
        report = _run(
            _sync(
                connection,
                api_key=api_key,
                db=db,
                account=account,
                since=since,
                full=full,
                wait=wait,
                show_progress=not quiet and sys.stderr.isatty(),
            ),
            interrupted="interrupted; the store is as it was before this run",
        )
    if not quiet:
        say(summary(report))
    return EXIT_OK


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


async def _write_changes(
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


@click.command("changes")
@click.option("--db", required=True, metavar="PATH|URL", help="The store (see sync).")
@click.option("--account", default="default", show_default=True, metavar="NAME")
@click.option("--since", type=DATE, help="Only changes of runs started on or after this day.")
@click.option("--run", "run_id", type=click.IntRange(min=1), metavar="N", help="Only run N.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="One JSON object a line, or CSV (fields joined by ';', values as JSON).",
)
@click.option("--output", "-o", default="-", show_default=True, metavar="PATH|-")
@click.pass_context
def changes_command(
    ctx: click.Context,
    /,
    db: str,
    account: str,
    since: dt.date | None,
    run_id: int | None,
    fmt: str,
    output: str,
) -> int:
    """Every recorded change, one record each: run, customer_id, kind (new, changed,
    deleted, missing, restored), fields, before, after."""
    if since is not None and run_id is not None:
        raise click.UsageError("--since and --run exclude each other", ctx)
    started = time.monotonic()
    with _store_errors():
        if output == "-":
            count = _run(_write_changes(db, account, since, run_id, fmt, sys.stdout.buffer))
            sys.stdout.buffer.flush()
        else:
            with open(output, "wb") as out:
                count = _run(_write_changes(db, account, since, run_id, fmt, out))
            say(f"{count:,} changes written to {output} in {time.monotonic() - started:.1f} s")
    return EXIT_OK
