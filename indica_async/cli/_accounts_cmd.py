"""``accounts sync-all`` and ``accounts worker``: many accounts' syncs as queued jobs.

The commands import procrastinate and the sync engine (the ``workers`` extra) only when
they run, so the rest of the command line neither needs nor loads them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Coroutine
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._exit import EXIT_FAILURE, EXIT_USAGE, CLIError, say
from ._running import run_async

if TYPE_CHECKING:
    from ..workers import EnqueueReport

__all__ = ["accounts_group"]

T = TypeVar("T")

_DB_HELP = "The PostgreSQL database holding the store and the job queue (postgresql://...)."
_ACCOUNTS_HELP = (
    "The accounts file (TOML, or JSON by its .json name): names, keys and options. "
    "Default: $INDICA_ACCOUNTS_FILE."
)


def _workers() -> ModuleType:
    try:
        from .. import workers
    except ImportError as exc:
        raise CLIError(
            f"accounts needs the workers extra ({exc.name} is missing): "
            "pip install 'indica-async[workers]'",
            EXIT_USAGE,
        ) from None
    return workers


def _accounts_file(given: str | None) -> str:
    path = given or os.environ.get("INDICA_ACCOUNTS_FILE")
    if not path:
        raise CLIError("no accounts file: pass --accounts FILE or set INDICA_ACCOUNTS_FILE")
    return path


def _run(workers: ModuleType, coro: Coroutine[Any, Any, T]) -> T:
    """`run_async` (Ctrl-C: one line, exit 130), with the workers' expected failures
    as one-line errors: the accounts file 2, the store or its database 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..sync import StoreError

    try:
        return run_async(coro)
    except (workers.AccountConfigError, ValueError) as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    except StoreError as exc:
        raise CLIError(str(exc), EXIT_FAILURE) from None
    except SQLAlchemyError as exc:
        # The class only: the message may quote the store's SQL and its data.
        raise CLIError(f"the store failed: {type(exc).__name__}", EXIT_FAILURE) from None


@click.group("accounts")
def accounts_group() -> None:
    """Sync many accounts: queue a run per account, and workers that run them."""


@accounts_group.command("sync-all")
@click.option("--db", required=True, metavar="URL", help=_DB_HELP)
@click.option("--accounts", "accounts_path", metavar="FILE", help=_ACCOUNTS_HELP)
@click.option("--full", is_flag=True, help="Full runs: changed and deleted customers too.")
@click.option("--quiet", "-q", is_flag=True, help="No summary.")
def sync_all_command(db: str, accounts_path: str | None, full: bool, quiet: bool) -> None:
    """Queue one sync run for every account of the accounts file, except those with a
    run still waiting or running."""
    workers = _workers()
    path = _accounts_file(accounts_path)

    async def enqueue() -> EnqueueReport:
        app = workers.build_app(db)
        # Enqueueing needs the names only: the machine that runs it needs no key.
        accounts = workers.load_accounts(path, keys=False)
        await workers.check_database(db)
        async with app.open_async():
            await workers.ensure_schema(app, db)
            report: EnqueueReport = await workers.enqueue_accounts(app, accounts, full=full)
            return report

    report = _run(workers, enqueue())
    if not quiet:
        say(
            f"{len(report.queued):,} accounts queued, "
            f"{len(report.already_queued):,} already in the queue"
        )


@accounts_group.command("worker")
@click.option("--db", required=True, metavar="URL", help=_DB_HELP)
@click.option("--accounts", "accounts_path", metavar="FILE", help=_ACCOUNTS_HELP)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    metavar="N",
    help="Accounts this process syncs at once.",
)
@click.option("--name", metavar="NAME", help="This worker's name in the logs.")
@click.option(
    "--heartbeat",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between this worker's heartbeats.",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=0.5),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="A worker silent this long is dead: its jobs are queued again.",
)
@click.option("--until-empty", is_flag=True, help="Stop once the queue is empty.")
def worker_command(
    db: str,
    accounts_path: str | None,
    concurrency: int,
    name: str | None,
    heartbeat: float,
    stalled_after: float,
    until_empty: bool,
) -> None:
    """Run queued account syncs, several at once, until SIGTERM or Ctrl-C (running
    syncs finish first; a second Ctrl-C stops at once, and those runs change nothing)."""
    workers = _workers()
    path = _accounts_file(accounts_path)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for logger_name, level in (
        ("indica_async.workers", logging.INFO),
        ("procrastinate", logging.WARNING),
    ):
        logger = logging.getLogger(logger_name)
        logger.addHandler(handler)
        logger.setLevel(level)
    _run(
        workers,
        workers.run_worker(
            db,
            path,
            concurrency=concurrency,
            name=name,
            heartbeat=heartbeat,
            stalled_after=stalled_after,
            wait=not until_empty,
        ),
    )
