"""What a run listed, turned into the store's changes: new, changed, restored, deleted
and missing customers, each recorded with the fields that changed."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs
import orjson
from sqlalchemy import and_, bindparam, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .._client import AsyncIndicaClient
from .._converters import customer_to_json
from .._errors import NotFoundError, PermissionDeniedError
from . import _schema as schema
from ._diff import diff_fields
from ._write import NEW_COLUMNS

if TYPE_CHECKING:
    from ._run import SyncProgress

__all__ = [
    "Counts",
    "apply_differences",
    "apply_new",
    "confirm_unlisted",
    "mark_seen",
    "record_all_new",
]

#: Rows compared per query while diffing, so memory does not grow with the store.
_DIFF_BATCH: Final = 1000

#: Lookups of unlisted customers in flight at most.
_LOOKUP_CONCURRENCY: Final = 8


@attrs.define
class Counts:
    """What a run has found so far, counted as it goes."""

    listed: int = 0
    new: int = 0
    changed: int = 0
    deleted: int = 0
    missing: int = 0
    restored: int = 0
    unchanged: int = 0
    lookups: int = 0


async def record_all_new(connection: AsyncConnection, account_id: int, run_id: int) -> int:
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


async def apply_new(connection: AsyncConnection, account_id: int, run_id: int) -> int:
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
            list(NEW_COLUMNS),
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


async def apply_differences(
    connection: AsyncConnection, account_id: int, run_id: int, counts: Counts
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


async def confirm_unlisted(
    client: AsyncIndicaClient,
    connection: AsyncConnection,
    account_id: int,
    run_id: int,
    start: dt.date,
    counts: Counts,
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


async def mark_seen(connection: AsyncConnection, account_id: int, run_id: int) -> None:
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
