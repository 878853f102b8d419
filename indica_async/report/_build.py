"""``build_report``: every figure over one consistent view of the store."""

from __future__ import annotations

import datetime as dt

from ..sync import Store
from ..sync._store import find_account
from . import _figures as figures
from ._base import report_base
from ._model import Report

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
        async with report_base(connection, account_id if account_id is not None else -1) as base:
            return Report(
                generated_on=today,
                store=await figures.store_summary(connection, account_id, account=account),
                growth=await figures.growth(connection, base, today=today),
                type_mix=await figures.type_mix(connection, base, today=today),
                expirations=await figures.expirations(connection, base, today=today),
                marketing=await figures.marketing_reach(connection, base),
                demographics=await figures.demographics(connection, base, today=today),
                data_quality=await figures.data_quality(connection, base),
                changes=await figures.changes_since_last_sync(connection, account_id),
            )
