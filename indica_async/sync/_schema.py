"""The store's tables, declared once, and its forward migrations.

Every table but ``meta`` carries ``account_id``, and every query filters on it.
``docs/sync.md`` describes the columns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "APPLICATION",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SQLITE_APPLICATION_ID",
    "TABLE_NAMES",
    "accounts",
    "changes",
    "customers",
    "meta",
    "metadata",
    "runs",
    "staging",
]

#: Written in ``meta`` under ``application``: what tells our store from any other.
APPLICATION: Final = "indica-async sync store"
#: ``PRAGMA application_id`` of an SQLite store ("INDC"): readable in the file's header
#: before the file is opened as a database at all.
SQLITE_APPLICATION_ID: Final = 0x494E4443
SCHEMA_VERSION: Final = 1

# SQLite makes only an INTEGER PRIMARY KEY an alias of the rowid (autoincrementing).
_Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("since", Date),
    #: The last day every customer created up to was stored (the last run's end).
    Column("synced_through", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("customer_id", BigInteger, primary_key=True, autoincrement=False),
    #: The customer's API JSON, as last seen.
    Column("data", Text, nullable=False),
    #: ``active``, ``deleted`` (404 confirmed) or ``missing`` (unlisted, unconfirmed).
    Column("status", String(8), nullable=False),
    Column("status_run", Integer),
    #: The date window the customer was first listed in: its only creation record.
    Column("first_window_start", Date, nullable=False),
    Column("first_window_end", Date, nullable=False),
    Column("first_run", Integer, nullable=False),
    Column("last_seen_run", Integer, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    #: ``first``, ``incremental`` or ``full``.
    Column("mode", String(12), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    #: ``completed`` or ``failed``; a failed run changed nothing else.
    Column("outcome", String(10), nullable=False),
    Column("error", Text),
    Column("listed", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("changed", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("missing", Integer, nullable=False, default=0),
    Column("restored", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
)

changes = Table(
    "changes",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    #: ``new``, ``changed``, ``deleted``, ``missing`` or ``restored``.
    Column("kind", String(10), nullable=False),
    #: JSON array of the changed field names (``object.field`` inside objects).
    Column("fields", Text, nullable=False),
    #: JSON objects: the changed fields' values before and after (null for ``new``).
    Column("before", Text),
    Column("after", Text),
    Index("changes_by_run", "account_id", "run_id"),
    Index("changes_by_customer", "account_id", "customer_id"),
)

#: Rows of the run in progress; emptied before its transaction commits.
staging = Table(
    "staging",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("customer_id", BigInteger, primary_key=True, autoincrement=False),
    Column("data", Text, nullable=False),
    Column("window_start", Date, nullable=False),
    Column("window_end", Date, nullable=False),
)

TABLE_NAMES: Final = frozenset(metadata.tables)

#: ``version -> step`` upgrading a store from ``version`` to ``version + 1``, run in
#: order inside one transaction. Version 1 is the first: nothing to upgrade yet.
MIGRATIONS: Final[Mapping[int, Callable[[AsyncConnection], Awaitable[None]]]] = {}
