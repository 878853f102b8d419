"""``customers sync`` and ``customers changes``: keep a database equal to the API.

The commands import the sync engine (SQLAlchemy and its drivers, the ``sync`` extra)
only when they run, so the rest of the command line neither needs nor loads it.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from types import ModuleType

import click

from ._connect import Connection, connection_options, walk_options
from ._dates import DATE
from ._exit import EXIT_USAGE, CLIError, say
from ._running import run_async, sdk_warnings

__all__ = ["changes_command", "sync_command"]

_DB_HELP = "The store: an SQLite file (created if absent) or a postgresql:// URL."


def _engine() -> ModuleType:
    try:
        from . import _sync_run
    except ImportError as exc:
        raise CLIError(
            f"sync needs the sync extra ({exc.name} is missing): pip install 'indica-async[sync]'",
            EXIT_USAGE,
        ) from None
    return _sync_run


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
@walk_options
@click.option("--quiet", "-q", is_flag=True, help="No progress display and no summary.")
@connection_options
def sync_command(
    *,
    db: str,
    account: str,
    since: dt.date | None,
    full: bool,
    wait: bool,
    limit: int,
    max_limit: int,
    concurrency: int,
    quiet: bool,
    connection: Connection,
) -> None:
    """Bring the store up to date: new customers (and, with --full, changed, deleted and
    restored ones), every change recorded. A run that fails changes nothing."""
    connection.api_key()  # no key: fail before the store is touched
    engine = _engine()
    with engine.store_errors(), sdk_warnings(show=not quiet):
        report = run_async(
            engine.sync_with_progress(
                connection,
                db=db,
                account=account,
                since=since,
                full=full,
                wait=wait,
                limit=limit,
                max_limit=max_limit,
                concurrency=concurrency,
                show_progress=not quiet and sys.stderr.isatty(),
            ),
            interrupted="interrupted; the store is as it was before this run",
            max_limit=max_limit,
            base_url=connection.base_url,
        )
    if not quiet:
        say(engine.summary(report))


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
@click.option("--quiet", "-q", is_flag=True, help="No summary line.")
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
    quiet: bool,
) -> None:
    """Every recorded change, one record each: run, customer_id, kind (new, changed,
    deleted, missing, restored), fields, before, after."""
    if since is not None and run_id is not None:
        raise click.UsageError("--since and --run exclude each other", ctx)
    started = time.monotonic()
    engine = _engine()
    with engine.store_errors():
        if output == "-":
            count = run_async(
                engine.write_changes(db, account, since, run_id, fmt, sys.stdout.buffer)
            )
            sys.stdout.buffer.flush()
        else:
            with engine.replacing(output) as out:
                count = run_async(engine.write_changes(db, account, since, run_id, fmt, out))
            if not quiet:
                say(f"{count:,} changes written to {output} in {time.monotonic() - started:.1f} s")
