"""A sync run: walk the API, stage what it lists, diff against the store, apply, commit.

All of it happens in one transaction: the customers, the run's record and its changes
become visible together, or (on any failure, or a kill) not at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, Final, Literal

import attrs
import orjson
from sqlalchemy import and_, bindparam, exists, func, literal, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from .._client import AsyncIndicaClient
from .._converters import customer_to_json
from .._errors import NotFoundError, PermissionDeniedError
from .._walk import Page, Progress
from . import _schema as schema
from ._dialect import (
    insert_ignore,
    insert_rows_ignoring_conflicts,
    is_lock_busy,
    store_day,
    try_lock_account,
)
from ._diff import diff_fields
from ._errors import RunInProgressError, StoreError
from ._store import Account, Store, find_account

__all__ = ["DEFAULT_OVERLAP_DAYS", "Mode", "SyncProgress", "SyncReport", "sync"]

Mode = Literal["first", "incremental", "full"]

#: Days before the last synced day that an incremental run walks again: customers
#: created late on that day, after the last run listed it, are found the next time.
DEFAULT_OVERLAP_DAYS: Final = 2
#: Rows compared per query while diffing, so memory does not grow with the store.
_DIFF_BATCH: Final = 1000
#: Lookups of unlisted customers in flight at most.
_LOOKUP_CONCURRENCY: Final = 8
#: Rows a write to the store takes (the last one excepted): about 2.5 MB.
_WRITE_ROWS: Final = 2000


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


@attrs.define
class _Counts:
    listed: int = 0
    new: int = 0
    changed: int = 0
    deleted: int = 0
    missing: int = 0
    restored: int = 0
    unchanged: int = 0
    lookups: int = 0


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
) -> _Counts:
    mode, start, end = plan
    staging, customers = schema.staging, schema.customers
    counts = _Counts()
    progress.phase = "walking"
    pages = client.customers.pages(
        start_date=start, end_date=end, progress=progress.walk, **walk_options
    )
    stored = await connection.scalar(select(exists().where(customers.c.account_id == account_id)))
    if not stored:
        # Nothing to diff against (a first run): the pages go straight into customers,
        # and every one of them is new. Half the writes of staging them.
        day = store_day(connection)
        await _store_pages(
            pages,
            lambda page: _new_rows(account_id, run_id, page, day),
            lambda rows: insert_rows_ignoring_conflicts(connection, customers, _NEW_COLUMNS, rows),
        )
        counts.listed = counts.new = await _record_all_new(connection, account_id, run_id)
        return counts
    await connection.execute(staging.delete().where(staging.c.account_id == account_id))
    day = store_day(connection)
    await _store_pages(
        pages,
        lambda page: _staged_rows(account_id, page, day),
        lambda rows: insert_rows_ignoring_conflicts(connection, staging, _STAGED_COLUMNS, rows),
    )
    counts.listed = int(
        await connection.scalar(
            select(func.count()).select_from(staging).where(staging.c.account_id == account_id)
        )
        or 0
    )
    progress.phase = "diffing"
    counts.new = await _apply_new(connection, account_id, run_id)
    await _apply_differences(connection, account_id, run_id, counts)
    if mode == "full":
        progress.phase = "confirming"
        await _confirm_unlisted(client, connection, account_id, run_id, start, counts, progress)
    await _mark_seen(connection, account_id, run_id)
    counts.unchanged = counts.listed - counts.new - counts.changed - counts.restored
    await connection.execute(staging.delete().where(staging.c.account_id == account_id))
    return counts


async def _store_pages(
    pages: AsyncGenerator[Page, None],
    rows_of: Callable[[Page], list[tuple[Any, ...]]],
    write: Callable[[list[tuple[Any, ...]]], Awaitable[None]],
    *,
    batch: int = _WRITE_ROWS,
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


_STAGED_COLUMNS: Final = ("account_id", "customer_id", "data", "window_start", "window_end")
_NEW_COLUMNS: Final = (
    "account_id",
    "customer_id",
    "data",
    "status",
    "first_window_start",
    "first_window_end",
    "first_run",
    "last_seen_run",
)


def _staged_rows(
    account_id: int, page: Page, day: Callable[[dt.date], Any]
) -> list[tuple[Any, ...]]:
    start, end = day(page.first_day), day(page.last_day)
    return [
        (account_id, customer.id, customer_to_json(customer).decode(), start, end)
        for customer in page.customers
    ]


def _new_rows(
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


async def _record_all_new(connection: AsyncConnection, account_id: int, run_id: int) -> int:
    customers = schema.customers
    await connection.execute(
        schema.changes.insert().from_select(
            ["account_id", "run_id", "customer_id", "kind", "fields"],
            select(
                literal(account_id),
                literal(run_id),
                customers.c.customer_id,
                literal("new"),
                literal("[]"),
            )
            .where(customers.c.account_id == account_id)
            .order_by(customers.c.customer_id),
        )
    )
    count = await connection.scalar(
        select(func.count()).select_from(customers).where(customers.c.account_id == account_id)
    )
    return int(count or 0)


async def _apply_new(connection: AsyncConnection, account_id: int, run_id: int) -> int:
    staging, customers, changes = schema.staging, schema.customers, schema.changes
    unknown = and_(
        staging.c.account_id == account_id,
        ~exists().where(
            customers.c.account_id == account_id,
            customers.c.customer_id == staging.c.customer_id,
        ),
    )
    count = int(
        await connection.scalar(select(func.count()).select_from(staging).where(unknown)) or 0
    )
    if not count:
        return 0
    await connection.execute(
        changes.insert().from_select(
            ["account_id", "run_id", "customer_id", "kind", "fields"],
            select(
                literal(account_id),
                literal(run_id),
                staging.c.customer_id,
                literal("new"),
                literal("[]"),
            )
            .where(unknown)
            .order_by(staging.c.customer_id),
        )
    )
    await connection.execute(
        customers.insert().from_select(
            list(_NEW_COLUMNS),
            select(
                literal(account_id),
                staging.c.customer_id,
                staging.c.data,
                literal("active"),
                staging.c.window_start,
                staging.c.window_end,
                literal(run_id),
                literal(run_id),
            ).where(unknown),
        )
    )
    return count


async def _apply_differences(
    connection: AsyncConnection, account_id: int, run_id: int, counts: _Counts
) -> None:
    """Changed customers (other JSON) and restored ones (listed again), in batches."""
    staging, customers = schema.staging, schema.customers
    after = 0
    while True:
        rows = (
            await connection.execute(
                select(
                    staging.c.customer_id,
                    staging.c.data.label("new_data"),
                    customers.c.data.label("old_data"),
                    customers.c.status,
                )
                .join(
                    customers,
                    and_(
                        customers.c.account_id == staging.c.account_id,
                        customers.c.customer_id == staging.c.customer_id,
                    ),
                )
                .where(
                    staging.c.account_id == account_id,
                    staging.c.customer_id > after,
                    (staging.c.data != customers.c.data) | (customers.c.status != "active"),
                )
                .order_by(staging.c.customer_id)
                .limit(_DIFF_BATCH)
            )
        ).all()
        if not rows:
            return
        after = rows[-1].customer_id
        records, updates = [], []
        for row in rows:
            restored = row.status != "active"
            names, before, now = diff_fields(orjson.loads(row.old_data), orjson.loads(row.new_data))
            kind = "restored" if restored else "changed"
            if restored:
                counts.restored += 1
            else:
                counts.changed += 1
            records.append(
                _change_row(account_id, run_id, row.customer_id, kind, names, before, now)
            )
            updates.append(
                {
                    "key": row.customer_id,
                    "data": row.new_data,
                    "status": "active",
                    "status_run": run_id if restored else None,
                }
            )
        await connection.execute(schema.changes.insert(), records)
        await _update_customers(connection, account_id, updates)


async def _update_customers(
    connection: AsyncConnection, account_id: int, updates: Sequence[dict[str, Any]]
) -> None:
    if not updates:
        return
    customers = schema.customers
    columns = [name for name in updates[0] if name != "key"]
    await connection.execute(
        update(customers)
        .where(
            customers.c.account_id == account_id,
            customers.c.customer_id == bindparam("key"),
        )
        .values({name: bindparam(name) for name in columns}),
        list(updates),
    )


def _change_row(
    account_id: int,
    run_id: int,
    customer_id: int,
    kind: str,
    names: Sequence[str] = (),
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "run_id": run_id,
        "customer_id": customer_id,
        "kind": kind,
        "fields": orjson.dumps(list(names)).decode(),
        "before": None if before is None else orjson.dumps(before).decode(),
        "after": None if after is None else orjson.dumps(after).decode(),
    }


async def _confirm_unlisted(
    client: AsyncIndicaClient,
    connection: AsyncConnection,
    account_id: int,
    run_id: int,
    start: dt.date,
    counts: _Counts,
    progress: SyncProgress,
) -> None:
    """Look up each stored customer the full walk did not list: 404 is deleted, 403
    (plan without lookups) leaves it missing, 200 means it exists outside the range."""
    staging, customers = schema.staging, schema.customers
    rows = (
        await connection.execute(
            select(customers.c.customer_id, customers.c.data, customers.c.status)
            .where(
                customers.c.account_id == account_id,
                customers.c.status != "deleted",
                customers.c.first_window_start >= start,
                ~exists().where(
                    staging.c.account_id == account_id,
                    staging.c.customer_id == customers.c.customer_id,
                ),
            )
            .order_by(customers.c.customer_id)
        )
    ).all()
    if not rows:
        return
    gate = asyncio.Semaphore(_LOOKUP_CONCURRENCY)
    forbidden = False

    async def look_up(customer_id: int) -> str | bytes:
        nonlocal forbidden
        async with gate:
            if forbidden:
                return "missing"  # the plan has no lookups: asking again would be a waste
            try:
                found = await client.customers.get(customer_id)
            except NotFoundError:
                return "deleted"
            except PermissionDeniedError:
                forbidden = True
                return "missing"
            finally:
                progress.lookups += 1
                counts.lookups += 1
            return customer_to_json(found)

    verdicts = await asyncio.gather(*(look_up(row.customer_id) for row in rows))
    records, updates = [], []
    for row, verdict in zip(rows, verdicts, strict=True):
        if isinstance(verdict, bytes):
            # Listed nowhere in the range, yet there: keep it, and any change to it. A
            # missing one is restored (one record, with the fields that changed), as a
            # customer listed again is.
            restored = row.status != "active"
            same = verdict == row.data.encode()
            if same and not restored:
                continue
            names, before, after = diff_fields(orjson.loads(row.data), orjson.loads(verdict))
            kind = "restored" if restored else "changed"
            records.append(
                _change_row(account_id, run_id, row.customer_id, kind, names, before, after)
            )
            updates.append(
                {
                    "key": row.customer_id,
                    "data": verdict.decode(),
                    "status": "active",
                    "status_run": run_id if restored else None,
                }
            )
            if restored:
                counts.restored += 1
            else:
                counts.changed += 1
            continue
        if verdict == row.status:
            continue  # still missing: reported by the run that first found it so
        records.append(_change_row(account_id, run_id, row.customer_id, verdict))
        updates.append(
            {
                "key": row.customer_id,
                "data": row.data,
                "status": verdict,
                "status_run": run_id,
            }
        )
        if verdict == "deleted":
            counts.deleted += 1
        else:
            counts.missing += 1
    if records:
        await connection.execute(schema.changes.insert(), records)
    await _update_customers(connection, account_id, updates)


async def _mark_seen(connection: AsyncConnection, account_id: int, run_id: int) -> None:
    staging, customers = schema.staging, schema.customers
    # Driven from staging (IN, looked up by primary key), not from customers: an
    # incremental run touches the customers it listed, not the whole store.
    listed = select(staging.c.customer_id).where(staging.c.account_id == account_id)
    await connection.execute(
        update(customers)
        .where(
            customers.c.account_id == account_id,
            customers.c.customer_id.in_(listed),
            customers.c.last_seen_run != run_id,
        )
        .values(last_seen_run=run_id)
    )


async def _finish(
    connection: AsyncConnection,
    account_id: int,
    run_id: int,
    plan: tuple[Mode, dt.date, dt.date],
    since: dt.date | None,
    counts: _Counts,
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
