"""Keep a database equal to the API, run after run, with a history of every change.

::

    from indica_async import AsyncIndicaClient
    from indica_async.sync import Store, sync

    async with AsyncIndicaClient() as client, Store("customers.sqlite") as store:
        report = await sync(client, store, "main-street", since=date(2020, 1, 1))
        async for change in store.changes("main-street", run=report.run_id):
            ...

Needs the ``sync`` extra (SQLAlchemy, aiosqlite, asyncpg). See ``docs/sync.md``.
"""

from ._errors import ForeignStoreError, NoStoreError, RunInProgressError, StoreError
from ._run import DEFAULT_OVERLAP_DAYS, Mode, SyncProgress, SyncReport, sync
from ._schema import SCHEMA_VERSION
from ._store import Account, ChangeRecord, RunRecord, Store

__all__ = [
    "DEFAULT_OVERLAP_DAYS",
    "SCHEMA_VERSION",
    "Account",
    "ChangeRecord",
    "ForeignStoreError",
    "Mode",
    "NoStoreError",
    "RunInProgressError",
    "RunRecord",
    "Store",
    "StoreError",
    "SyncProgress",
    "SyncReport",
    "sync",
]
