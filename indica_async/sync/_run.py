"""A sync run: walk the API, stage what it lists, diff against the store, apply, commit.

All of it happens in one transaction: the customers, the run's record and its changes
become visible together, or (on any failure, or a kill) not at all.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Final, Literal

import attrs
from sqlalchemy import exists, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from .._client import AsyncIndicaClient
from .._walk import Progress
from . import _schema as schema
from ._apply import (
    Counts,
    apply_differences,
    apply_new,
    confirm_unlisted,
    mark_seen,
    record_all_new,
)
from ._dialect import (
    insert_ignore,
    insert_rows_ignoring_conflicts,
    is_lock_busy,
    store_day,
    try_lock_account,
)
from ._errors import RunInProgressError, StoreError
from ._store import Account, Store, find_account
from ._write import NEW_COLUMNS, STAGED_COLUMNS, new_rows, staged_rows, store_pages

__all__ = ["DEFAULT_OVERLAP_DAYS", "Mode", "SyncProgress", "SyncReport", "sync"]

Mode = Literal["first", "incremental", "full"]

#: Days before the last synced day that an incremental run walks again: customers
#: created late on that day, after the last run listed it, are found the next time.
DEFAULT_OVERLAP_DAYS: Final = 2


@attrs.define
class SyncProgress:
    """Live state of a run, for progress displays: the walk's counters and the phase."""

    walk: Progress = attrs.field(factory=Progress)
    #: ``locking``, ``walking``, ``diffing``, ``confirming``, ``committing`` or ``done``.
    phase: str = "locking"
    lookups: int = 0


@attrs.frozen
class SyncReport:
    """What one completed run did."""

    run_id: int
    account: str
    mode: Mode
    start_date: dt.date
    end_date: dt.date
    #: Customers the list returned.
    listed: int
    new: int
    changed: int
    #: Unlisted, and confirmed gone by a 404.
    deleted: int
    #: Unlisted, and the plan forbids the lookup that would confirm it (403).
    missing: int
    restored: int
    unchanged: int
    requests: int
    seconds: float


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _plan(
    account: Account | None,
    *,
    since: dt.date | None,
    full: bool,
    today: dt.date,
    overlap_days: int,
) -> tuple[Mode, dt.date, dt.date]:
    """The run's mode and range (pure)."""
    if account is None or account.synced_through is None:
        if since is None:
            raise StoreError(
                "the first run of an account needs since, its first creation day "
                "(--since on the command line)"
            )
        return "first", min(since, today), today
    stored = account.since or since or today
    if full:
        start = min(since, stored) if since is not None else stored
        return "full", min(start, today), today
    start = max(stored, account.synced_through - dt.timedelta(days=overlap_days))
    return "incremental", min(start, today), today


async def sync(
    client: AsyncIndicaClient,
    store: Store,
    account: str,
    *,
    since: dt.date | None = None,
    full: bool = False,
    wait: bool = False,
    today: dt.date | None = None,
    overlap_days: int = DEFAULT_OVERLAP_DAYS,
    progress: SyncProgress | None = None,
    limit: int | None = None,
    max_limit: int | None = None,
    concurrency: int | None = None,
) -> SyncReport:
    """Bring ``account`` in ``store`` up to date with the API that ``client`` reaches.

    The first run of an account walks from ``since`` to ``today``; later runs walk from
    the last synced day minus ``overlap_days`` (new customers), or, with ``full``, the
    whole range again (changed, deleted and restored customers as well). Everything the
    run writes commits in one transaction. Another run on the account raises
    `RunInProgressError` at once, or is waited for with ``wait``. A failed run leaves
    the store as it was, and is recorded as failed. ``limit``, ``max_limit`` and
    ``concurrency`` are passed to ``client.customers.pages``.
    """
    if not account or len(account) > 200:
        raise StoreError("an account name is 1 to 200 characters")
    today = today or dt.date.today()
    progress = progress if progress is not None else SyncProgress()
    started = _now()
    clock = time.monotonic()
    plan: tuple[Mode, dt.date, dt.date] | None = None
    try:
        async with store.write(busy_ms=_wait_ms(wait)) as connection:
            if not await try_lock_account(connection, account, wait=wait):
                raise _busy(account)
            started = _now()  # runs on one account never overlap from here on
            found = await find_account(connection, account)
            plan = _plan(found, since=since, full=full, today=today, overlap_days=overlap_days)
            account_id = (
                found.id if found is not None else await _create_account(connection, account)
            )
            run_id = await _insert_run(connection, account_id, plan, started)
            counts = await _run(
                client,
                connection,
                account_id,
                run_id,
                plan,
                progress,
                walk_options=_walk_options(
                    limit=limit, max_limit=max_limit, concurrency=concurrency
                ),
            )
            requests = progress.walk.requests + counts.lookups
            progress.phase = "committing"
            await _finish(connection, account_id, run_id, plan, since, counts, requests)
    except OperationalError as exc:
        if is_lock_busy(exc):
            raise _busy(account) from None
        await _record_failure(store, account, plan, started, exc)
        raise
    except RunInProgressError:
        raise
    except Exception as exc:
        await _record_failure(store, account, plan, started, exc)
        raise
    progress.phase = "done"
    mode, start, end = plan
    return SyncReport(
        run_id=run_id,
        account=account,
        mode=mode,
        start_date=start,
        end_date=end,
        listed=counts.listed,
        new=counts.new,
        changed=counts.changed,
        deleted=counts.deleted,
        missing=counts.missing,
        restored=counts.restored,
        unchanged=counts.unchanged,
        requests=requests,
        seconds=time.monotonic() - clock,
    )


def _walk_options(**options: int | None) -> dict[str, int]:
    return {name: value for name, value in options.items() if value is not None}


def _wait_ms(wait: bool) -> int:
    # SQLite's busy timeout is the wait for the write lock: none, or a day.
    return 86_400_000 if wait else 0


def _busy(account: str) -> RunInProgressError:
    return RunInProgressError(
        f"another sync run is in progress on account {account!r} (on an SQLite store, on "
        "any account of the file): try again when it has finished, or wait for it"
    )


async def _create_account(connection: AsyncConnection, name: str) -> int:
    await connection.execute(
        insert_ignore(connection, schema.accounts).values(name=name, created_at=_now())
    )
    found = await find_account(connection, name)
    assert found is not None
    return found.id


async def _insert_run(
    connection: AsyncConnection,
    account_id: int,
    plan: tuple[Mode, dt.date, dt.date],
    started: dt.datetime,
) -> int:
    mode, start, end = plan
    run_id = await connection.scalar(
        schema.runs.insert()
        .values(
            account_id=account_id,
            mode=mode,
            start_date=start,
            end_date=end,
            started_at=started,
            outcome="running",
        )
        .returning(schema.runs.c.id)
    )
    assert run_id is not None
    return int(run_id)


async def _run(
    client: AsyncIndicaClient,
    connection: AsyncConnection,
    account_id: int,
    run_id: int,
    plan: tuple[Mode, dt.date, dt.date],
    progress: SyncProgress,
    *,
    walk_options: dict[str, Any],
) -> Counts:
    mode, start, end = plan
    staging, customers = schema.staging, schema.customers
    counts = Counts()
    progress.phase = "walking"
    pages = client.customers.pages(
        start_date=start, end_date=end, progress=progress.walk, **walk_options
    )
    stored = await connection.scalar(select(exists().where(customers.c.account_id == account_id)))
    if not stored:
        # Nothing to diff against (a first run): the pages go straight into customers,
        # and every one of them is new. Half the writes of staging them.
        day = store_day(connection)
        await store_pages(
            pages,
            lambda page: new_rows(account_id, run_id, page, day),
            lambda rows: insert_rows_ignoring_conflicts(connection, customers, NEW_COLUMNS, rows),
        )
        counts.listed = counts.new = await record_all_new(connection, account_id, run_id)
        return counts
    await connection.execute(staging.delete().where(staging.c.account_id == account_id))
    day = store_day(connection)
    await store_pages(
        pages,
        lambda page: staged_rows(account_id, page, day),
        lambda rows: insert_rows_ignoring_conflicts(connection, staging, STAGED_COLUMNS, rows),
    )
    counts.listed = int(
        await connection.scalar(
            select(func.count()).select_from(staging).where(staging.c.account_id == account_id)
        )
        or 0
    )
    progress.phase = "diffing"
    counts.new = await apply_new(connection, account_id, run_id)
    await apply_differences(connection, account_id, run_id, counts)
    if mode == "full":
        progress.phase = "confirming"
        await confirm_unlisted(client, connection, account_id, run_id, start, counts, progress)
    await mark_seen(connection, account_id, run_id)
    counts.unchanged = counts.listed - counts.new - counts.changed - counts.restored
    await connection.execute(staging.delete().where(staging.c.account_id == account_id))
    return counts


async def _finish(
    connection: AsyncConnection,
    account_id: int,
    run_id: int,
    plan: tuple[Mode, dt.date, dt.date],
    since: dt.date | None,
    counts: Counts,
    requests: int,
) -> None:
    _, start, end = plan
    await connection.execute(
        schema.runs.update()
        .where(schema.runs.c.id == run_id)
        .values(
            finished_at=_now(),
            outcome="completed",
            listed=counts.listed,
            new=counts.new,
            changed=counts.changed,
            deleted=counts.deleted,
            missing=counts.missing,
            restored=counts.restored,
            unchanged=counts.unchanged,
            requests=requests,
        )
    )
    accounts = schema.accounts
    found = (
        await connection.execute(select(accounts.c.since).where(accounts.c.id == account_id))
    ).scalar_one()
    first = min(day for day in (found, since, start) if day is not None)
    await connection.execute(
        accounts.update().where(accounts.c.id == account_id).values(since=first, synced_through=end)
    )


async def _record_failure(
    store: Store,
    account: str,
    plan: tuple[Mode, dt.date, dt.date] | None,
    started: dt.datetime,
    exc: BaseException,
) -> None:
    """After the rollback: a small transaction of its own that says the run failed."""
    if plan is None:
        return  # it failed before it was a run (the account could not even be read)
    mode, start, end = plan
    try:
        async with store.write() as connection:
            found = await find_account(connection, account)
            account_id = (
                found.id if found is not None else await _create_account(connection, account)
            )
            await connection.execute(
                schema.runs.insert().values(
                    account_id=account_id,
                    mode=mode,
                    start_date=start,
                    end_date=end,
                    started_at=started,
                    finished_at=_now(),
                    outcome="failed",
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                )
            )
    except Exception:
        pass
