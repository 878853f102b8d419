"""A store filled from the sandbox, changed and synced again, for the report tests."""

from __future__ import annotations

import datetime as dt
import random

import attrs

from indica_async import AsyncIndicaClient
from indica_async.report import Report, build_report
from indica_async.sandbox import Sandbox, SandboxChanges, SandboxConfig, mutate
from indica_async.sync import Store, sync

TODAY = dt.date.today()
SINCE = TODAY - dt.timedelta(days=130)
#: Fewer than any day holds: every window the walk keeps is a single day, so the
#: store's first-window dates are the creation days (the report's caveat, removed).
LIMIT = 3


def _daily_counts() -> dict[dt.date, int]:
    rand = random.Random("report-tests")
    days = (TODAY - SINCE).days + 1
    # Growing sign-ups, so the trend has a direction to find.
    return {
        SINCE + dt.timedelta(days=n): 4 + int(n * 4 / days) + rand.randrange(3) for n in range(days)
    }


@attrs.frozen
class Filled:
    report: Report
    changes: SandboxChanges


async def fill(store_target: str) -> Filled:
    """A store synced from the sandbox, then changed (added, changed, deleted) and
    synced in full; and the report over it."""
    config = SandboxConfig(daily_counts=_daily_counts(), start_date=SINCE, end_date=TODAY)
    async with Sandbox(config) as sandbox, Store(store_target) as store:
        async with AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url) as client:
            await sync(client, store, "shop", since=SINCE, today=TODAY, limit=LIMIT)
            changes = mutate(
                sandbox.records,
                add=6,
                change=12,
                delete=5,
                day=TODAY,
                before=TODAY - dt.timedelta(days=10),
                seed=13,
            )
            sandbox.set_records(changes.records)
            await sync(client, store, "shop", full=True, today=TODAY, limit=LIMIT)
        return Filled(await build_report(store, "shop", today=TODAY), changes)
