"""Account syncs as procrastinate jobs: the task, enqueueing, the worker, stalled jobs.

procrastinate keeps its queue in PostgreSQL, the database the store already lives in.
One job syncs one account; its payload is the account's name (and ``full``), never a
key: the worker looks the key up in the accounts file it was started with.

Runs on one account never interleave, on three levels: ``enqueue_accounts`` queues no
job for an account that has one waiting or running, a job's ``lock`` keeps
procrastinate from starting a second while one runs, and the sync engine's
transaction-scoped advisory lock (a database lock) refuses any other run, whoever
starts it. A job that finds the account busy fails with `RunInProgressError` and is
retried later.

A worker killed mid-run (SIGKILL, a lost machine) leaves the store as before the run:
its connection dies, PostgreSQL rolls the run's transaction back and frees the lock.
Its job stays ``doing``; every worker sends a heartbeat (until its last job ends, even
while it stops), and a sweeper in each worker (one at a time, under an advisory lock)
gives the jobs of workers silent for longer than ``stalled_after`` back to the queue
with procrastinate's ``retry_job``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any, Final

import attrs
import procrastinate
import psycopg
from procrastinate.app import WorkerOptions
from procrastinate.exceptions import ProcrastinateException
from procrastinate.retry import RetryDecision
from procrastinate.worker import Worker
from sqlalchemy.engine import make_url

from .._client import AsyncIndicaClient
from ..sync import RunInProgressError, Store, StoreError, sync
from ._config import AccountConfigError, AccountsConfig, load_accounts

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_STALLED_AFTER",
    "QUEUE",
    "SYNC_TASK",
    "EnqueueReport",
    "WorkerSettings",
    "account_lock",
    "build_app",
    "check_database",
    "conninfo",
    "enqueue_accounts",
    "ensure_schema",
    "recover_stalled_jobs",
    "run_worker",
]

logger = logging.getLogger("indica_async.workers")

#: The queue account syncs go to.
QUEUE: Final = "indica-accounts"
#: The task's name in procrastinate's tables.
SYNC_TASK: Final = "indica_async.sync_account"
#: Accounts one worker process syncs at once.
DEFAULT_CONCURRENCY: Final = 8
#: Seconds between a worker's heartbeats (procrastinate's default).
DEFAULT_HEARTBEAT: Final = 10.0
#: Seconds without a heartbeat after which a worker counts as dead and its jobs are
#: retried (procrastinate's default ``stalled_worker_timeout``).
DEFAULT_STALLED_AFTER: Final = 30.0
_CONTEXT: Final = "indica_async"
#: Advisory lock keys ("INDW" + n): the schema's creator, and the stalled-job sweeper.
_SCHEMA_LOCK: Final = 0x494E445701
_SWEEPER_LOCK: Final = 0x494E445702
#: Seconds a connection to PostgreSQL may take before the database counts as unreachable.
CONNECT_TIMEOUT: Final = 5


def conninfo(db: str) -> str:
    """A libpq URL for psycopg from the store's URL (which may name a driver)."""
    try:
        url = make_url(db)
    except Exception:
        raise StoreError("workers need a postgresql:// URL for --db") from None
    if url.get_backend_name() != "postgresql":
        raise StoreError(
            "workers need a PostgreSQL store (postgresql://...): the queue lives there too"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def check_database(db: str) -> None:
    """Connect to ``db`` once; `StoreError` naming host:port if that fails within
    `CONNECT_TIMEOUT` seconds (procrastinate's pool would retry for 30 s)."""
    info = conninfo(db)
    try:
        connection = await psycopg.AsyncConnection.connect(info, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.OperationalError:
        url = make_url(db)
        where = f"{url.host or 'localhost'}:{url.port or 5432}"
        raise StoreError(
            f"cannot connect to PostgreSQL at {where} (tried for up to {CONNECT_TIMEOUT} s)"
        ) from None
    await connection.close()


def account_lock(account: str) -> str:
    """The procrastinate ``lock`` of an account's jobs."""
    return f"indica-account:{account}"


@attrs.frozen
class WorkerSettings:
    """What a worker's jobs need that is not in their payload."""

    db: str
    #: The accounts (keys included) as a job starts: a key rotated in the file reaches
    #: the next job without a restart.
    accounts: Callable[[], AccountsConfig]


def _accounts_reader(path: str) -> Callable[[], AccountsConfig]:
    """``load_accounts(path)``, parsed again only when the file has changed: a file of
    10,000 accounts is not parsed for each of 10,000 jobs. Blocking (a stat, maybe a
    parse): jobs call it in a thread, several at once."""
    cache: dict[tuple[int, int], AccountsConfig] = {}

    def read() -> AccountsConfig:
        try:
            status = os.stat(path)
        except OSError:
            return load_accounts(path)  # raises the reason
        stamp = (status.st_mtime_ns, status.st_size)
        found = cache.get(stamp)
        if found is None:
            found = load_accounts(path)
            cache.clear()
            cache[stamp] = found
        return found

    return read


class _SyncRetry(procrastinate.RetryStrategy):
    """Retry what may pass (a busy account, the network, the API); not a wrong config
    nor a store that cannot be used (no ``since`` for a first run, a foreign store)."""

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate.jobs.Job
    ) -> RetryDecision | None:
        if isinstance(exception, AccountConfigError):
            return None
        if isinstance(exception, StoreError) and not isinstance(exception, RunInProgressError):
            return None
        return super().get_retry_decision(exception=exception, job=job)


async def _sync_account(
    context: procrastinate.JobContext, account: str, full: bool = False
) -> dict[str, Any]:
    settings: WorkerSettings = context.additional_context[_CONTEXT]
    # Off the loop: the worker's other jobs keep running while the file is read.
    found = (await asyncio.to_thread(settings.accounts)).get(account)
    async with (
        AsyncIndicaClient(found.api_key, base_url=found.base_url) as client,
        # A store per job: its small connection pool is the job's alone.
        Store(settings.db) as store,
    ):
        report = await sync(client, store, account, since=found.since, full=full or found.full)
    logger.info(
        "account %s: run %d (%s) new=%d changed=%d deleted=%d requests=%d in %.1f s",
        account,
        report.run_id,
        report.mode,
        report.new,
        report.changed,
        report.deleted,
        report.requests,
        report.seconds,
    )
    return {"run": report.run_id, "new": report.new, "changed": report.changed}


def build_app(db: str) -> procrastinate.App:
    """A procrastinate app on ``db`` with the account-sync task, not yet open."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(db),
            min_size=1,
            max_size=4,
            kwargs={"connect_timeout": CONNECT_TIMEOUT},
        )
    )
    app.task(
        name=SYNC_TASK,
        queue=QUEUE,
        pass_context=True,
        # Waits of 2, 4, 8 ... 256 s: a busy account, an API outage of minutes.
        retry=_SyncRetry(max_attempts=8, exponential_wait=2),
    )(_sync_account)
    return app


async def ensure_schema(app: procrastinate.App, db: str) -> bool:
    """Create procrastinate's tables in ``db`` unless they exist; ``True`` if created."""
    async with await psycopg.AsyncConnection.connect(conninfo(db), autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            if await app.job_manager.check_connection_async():
                return False
            await app.schema_manager.apply_schema_async()
            return True
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))


@attrs.frozen
class EnqueueReport:
    """What ``enqueue_accounts`` did: job ids by account, and the accounts skipped
    because a job of theirs was waiting or running."""

    queued: dict[str, int]
    already_queued: list[str]


async def enqueue_accounts(
    app: procrastinate.App, accounts: AccountsConfig, *, full: bool = False
) -> EnqueueReport:
    """Queue one sync job per account, but none for an account that has a job waiting
    or running already (it will bring the account up to date)."""
    # Not procrastinate's queueing_lock: a failed or stalled job going back to the
    # queue would then violate it whenever a newer job of its account waits, and
    # stay stuck. Two sync-alls racing here merely queue one account twice: its
    # jobs share a lock, so they run one after the other, the second finding little.
    rows = await app.connector.execute_query_all_async(
        "SELECT DISTINCT lock FROM procrastinate_jobs "
        "WHERE task_name = %(task)s AND status IN ('todo', 'doing')",
        task=SYNC_TASK,
    )
    busy = {row["lock"] for row in rows}
    task = app.tasks[SYNC_TASK]
    queued: dict[str, int] = {}
    skipped: list[str] = []
    for name in accounts.names:
        lock = account_lock(name)
        if lock in busy:
            skipped.append(name)
            continue
        queued[name] = await task.configure(lock=lock).defer_async(account=name, full=full)
    return EnqueueReport(queued, skipped)


async def recover_stalled_jobs(
    app: procrastinate.App, db: str, *, stalled_after: float
) -> list[int]:
    """Give the jobs of workers silent for ``stalled_after`` seconds back to the queue.

    One sweeper at a time across every worker (an advisory lock), so a job is never
    handed back twice. Returns the ids of the jobs retried.
    """
    async with await psycopg.AsyncConnection.connect(conninfo(db), autocommit=True) as conn:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (_SWEEPER_LOCK,))
        row = await cursor.fetchone()
        if row is None or not row[0]:
            return []
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=stalled_after
            )
            retried = []
            for job in stalled:
                assert job.id is not None
                try:
                    await app.job_manager.retry_job(job)
                except ProcrastinateException as exc:
                    logger.warning("could not queue job %d again: %s", job.id, exc)
                    continue
                retried.append(job.id)
                logger.warning(
                    "job %d (account %s) of a dead worker: queued again",
                    job.id,
                    job.task_kwargs.get("account"),
                )
            return retried
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_SWEEPER_LOCK,))


async def _sweep(app: procrastinate.App, db: str, *, every: float, stalled_after: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await recover_stalled_jobs(app, db, stalled_after=stalled_after)
        except (psycopg.Error, OSError, ProcrastinateException) as exc:
            logger.warning("could not look for stalled jobs: %s", exc)


async def _keep_alive(app: procrastinate.App, worker: Worker, *, every: float) -> None:
    # procrastinate stops a worker's heartbeat as soon as it is asked to stop, then
    # waits for its running jobs: a sync longer than stalled_after would be taken for
    # dead and run again elsewhere. This heartbeat lasts until the jobs are done.
    while True:
        await asyncio.sleep(every)
        if worker.worker_id is not None:
            with contextlib.suppress(psycopg.Error, OSError, ProcrastinateException):
                await app.job_manager.update_heartbeat(worker.worker_id)


async def run_worker(
    db: str,
    accounts_file: str | os.PathLike[str],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    name: str | None = None,
    heartbeat: float = DEFAULT_HEARTBEAT,
    stalled_after: float = DEFAULT_STALLED_AFTER,
    wait: bool = True,
    app: procrastinate.App | None = None,
) -> None:
    """Run a worker syncing up to ``concurrency`` accounts at once, until stopped.

    SIGINT or SIGTERM stop it gracefully (running syncs finish first). With ``wait``
    false it returns once the queue is empty. ``app``: an app from `build_app` that
    you added tasks of your own to (periodic ones, say); by default a new one.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if not heartbeat < stalled_after:
        raise ValueError("the heartbeat interval must be shorter than stalled_after")
    path = os.fspath(accounts_file)
    conninfo(db)
    accounts = _accounts_reader(path)
    await asyncio.to_thread(accounts)  # a wrong file fails the worker at start, not each job
    # Our own app runs our queue only: a database shared with other procrastinate apps
    # keeps their jobs. The user's app runs every queue, its own tasks' too.
    options: WorkerOptions = {
        "concurrency": concurrency,
        "name": name or "indica-worker",
        "wait": wait,
        "additional_context": {_CONTEXT: WorkerSettings(db, accounts)},
        "update_heartbeat_interval": heartbeat,
        "stalled_worker_timeout": stalled_after,
        "delete_jobs": "successful",
    }
    if app is None:
        options["queues"] = [QUEUE]
        app = build_app(db)
    await check_database(db)
    async with app.open_async():
        await ensure_schema(app, db)
        sweeper = asyncio.create_task(
            _sweep(app, db, every=max(heartbeat, stalled_after / 3), stalled_after=stalled_after)
        )
        worker = Worker(app, **options)
        keep_alive = asyncio.create_task(_keep_alive(app, worker, every=heartbeat))
        try:
            await worker.run()  # type: ignore[no-untyped-call]  # procrastinate leaves it untyped
        finally:
            for side in (sweeper, keep_alive):
                side.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await side
