"""``build_report``: every figure over one consistent view of the store."""

from __future__ import annotations

import datetime as dt

from ..sync import Store
from ..sync._store import find_account
from . import _figures as figures
from ._model import Report
from ._scan import scan_customers

__all__ = ["build_report"]


async def build_report(
    store: Store, account: str = "default", *, today: dt.date | None = None
) -> Report:
    """The report of ``account``'s active customers (deleted and missing ones are left
    out of every figure but the store summary), as of ``today`` (default: the date)."""
    today = today or dt.date.today()
    async with store.read() as connection:
        found = await find_account(connection, account)
        account_id = found.id if found is not None else None
        tally = await scan_customers(connection, account_id, today=today)
        summary = await figures.store_summary(connection, account_id, account=account)
        changes = await figures.changes_since_last_sync(connection, account_id)
    return Report(
        generated_on=today,
        store=summary,
        growth=figures.growth(tally, today=today),
        type_mix=figures.type_mix(tally, today=today),
        expirations=figures.expirations(tally, today=today),
        marketing=figures.marketing_reach(tally),
        demographics=figures.demographics(tally, today=today),
        data_quality=figures.data_quality(tally),
        changes=changes,
    )
