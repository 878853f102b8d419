"""Opening a store (SQLite file or PostgreSQL URL), checking it is ours, and reading it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Final, Literal

import attrs
import orjson
from sqlalchemy import event, func, inspect, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from . import _schema as schema
from ._errors import ForeignStoreError, NoStoreError, StoreError

__all__ = ["Account", "ChangeRecord", "RunRecord", "Store"]

_SQLITE_HEADER: Final = b"SQLite format 3\x00"
#: Milliseconds an ordinary store transaction waits for SQLite's write lock.
_BUSY_MS: Final = 30_000
#: Bytes per page of a new SQLite store. A customer's row is about 1.2 KB: SQLite's
#: default 4 KiB pages hold three of them, and a first run writes every page twice (the
#: write-ahead log, then the checkpoint), a system call each time. Measured on a first
#: sync of 300,000 and 1,000,000 customers: 16 KiB pages made the file 14% smaller and
#: the commit about twice as fast as 4 KiB; 32 KiB took the commit another 10% off.
_SQLITE_PAGE_SIZE: Final = 32_768


@attrs.frozen
class Account:
    """An account of the store: the name the user gave it, and how far it is synced."""

    id: int
    name: str
    since: dt.date | None
    synced_through: dt.date | None


@attrs.frozen
class RunRecord:
    """One row of ``runs``."""

    id: int
    account: str
    mode: str
    start_date: dt.date
    end_date: dt.date
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str
    error: str | None
    listed: int
    new: int
    changed: int
    deleted: int
    missing: int
    restored: int
    unchanged: int
    requests: int


@attrs.frozen
class ChangeRecord:
    """One row of ``changes``: what a run saw happen to one customer."""

    run: int
    customer_id: int
    kind: str
    fields: tuple[str, ...]
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        """``{"run", "customer_id", "kind", "fields", "before", "after"}``."""
        return {
            "run": self.run,
            "customer_id": self.customer_id,
            "kind": self.kind,
            "fields": list(self.fields),
            "before": self.before,
            "after": self.after,
        }


def _engine_url(target: str | os.PathLike[str]) -> tuple[str, Literal["sqlite", "postgresql"]]:
    text = os.fspath(target)
    if "://" not in text:
        return f"sqlite+aiosqlite:///{os.path.abspath(text)}", "sqlite"
    try:
        url = make_url(text)
    except ArgumentError:
        raise StoreError("the store must be an SQLite file path or a postgresql:// URL") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        return url.set(drivername="postgresql+asyncpg").render_as_string(False), "postgresql"
    if backend == "sqlite" and url.database:
        return url.set(drivername="sqlite+aiosqlite").render_as_string(False), "sqlite"
    raise StoreError(
        f"unsupported store URL scheme {url.drivername!r}: use a file or postgresql://"
    )


def _sqlite_file_state(path: str) -> Literal["new", "ours"]:
    """Read the file's header only: a foreign file is never opened as a database."""
    try:
        with open(path, "rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return "new"
    if not header:
        return "new"
    if not header.startswith(_SQLITE_HEADER) or len(header) < 100:
        raise ForeignStoreError(f"{path} is not an SQLite database; it was left untouched")
    application_id = int.from_bytes(header[68:72], "big")
    if application_id != schema.SQLITE_APPLICATION_ID:
        raise ForeignStoreError(
            f"{path} is another application's SQLite database (application_id "
            f"{application_id:#x}), not an indica-async store; it was left untouched"
        )
    return "ours"


def _create_sqlite_file(path: str) -> None:
    # The application id goes into the main file before WAL mode, so the header
    # check above can read it without replaying a write-ahead log.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # Set before anything is written: a page size is fixed once the file has one.
        connection.execute(f"PRAGMA page_size = {_SQLITE_PAGE_SIZE}")
        connection.execute(f"PRAGMA application_id = {schema.SQLITE_APPLICATION_ID}")
        connection.execute("PRAGMA journal_mode = WAL")
    finally:
        connection.close()


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions of its own: ours begin in _on_sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    options = connection.get_execution_options()
    busy_ms = int(options.get("indica_busy_ms", _BUSY_MS))
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms}")
    # IMMEDIATE takes the write lock now, so a writer fails (or waits) before it has
    # read anything, rather than when it first writes.
    connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("indica_write") else "BEGIN")


class Store:
    """A sync store: one SQLite file or one PostgreSQL database, holding many accounts.

    ``async with Store("customers.sqlite") as store:`` (or a ``postgresql://`` URL)
    creates the store if the file or database holds none yet (unless ``create`` is
    false), and refuses, untouched, a file or database that belongs to something else.
    """

    def __init__(self, target: str | os.PathLike[str], *, create: bool = True) -> None:
        self._url, self.backend = _engine_url(target)
        self.target = os.fspath(target)
        self._create = create
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine; available once open."""
        if self._engine is None:
            raise StoreError("the store is not open")
        return self._engine

    async def open(self) -> None:
        """Check, create or upgrade the store and connect to it."""
        if self._engine is not None:
            raise StoreError("a store is opened once")
        if self.backend == "sqlite":
            path = make_url(self._url).database or ""
            state = await asyncio.to_thread(_sqlite_file_state, path)
            if state == "new":
                if not self._create:
                    raise NoStoreError(f"no store at {path}")
                await asyncio.to_thread(_create_sqlite_file, path)
            # A file connection per checkout: SQLite connections are cheap, and none
            # is left holding the file between runs.
            # hide_parameters: a failed statement's message would carry customer rows.
            engine = create_async_engine(self._url, poolclass=NullPool, hide_parameters=True)
            event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
            event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
        else:
            engine = create_async_engine(
                self._url, pool_size=2, max_overflow=4, hide_parameters=True
            )
        self._engine = engine
        try:
            await self._prepare()
        except BaseException:
            await self.aclose()
            raise

    async def _prepare(self) -> None:
        # A read first: opening a ready store must not wait for a run's write lock.
        async with self.read() as connection:
            version = await self._version(connection)
        if version == schema.SCHEMA_VERSION:
            return
        async with self.write() as connection:
            if connection.dialect.name == "postgresql":
                # One creator at a time when several workers open a new database at once.
                await connection.execute(select(func.pg_advisory_xact_lock(0x494E4443)))
            version = await self._version(connection)
            if version is None:
                await connection.run_sync(schema.metadata.create_all)
                await connection.execute(
                    schema.meta.insert(),
                    [
                        {"key": "application", "value": schema.APPLICATION},
                        {"key": "schema_version", "value": str(schema.SCHEMA_VERSION)},
                    ],
                )
                return
            for step in range(version, schema.SCHEMA_VERSION):
                await schema.MIGRATIONS[step](connection)
            await connection.execute(
                schema.meta.update()
                .where(schema.meta.c.key == "schema_version")
                .values(value=str(schema.SCHEMA_VERSION))
            )

    async def _version(self, connection: AsyncConnection) -> int | None:
        """The store's schema version, ``None`` where there is no store yet; raises for a
        foreign database, or one newer than this code."""
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        if "meta" not in names:
            ours = names & schema.TABLE_NAMES
            if ours:
                raise ForeignStoreError(
                    f"{self._describe()} has tables named {', '.join(sorted(ours))} but "
                    "no indica-async marker; it was left untouched"
                )
            if not self._create:
                raise NoStoreError(f"no store in {self._describe()}")
            return None
        found = await connection.execute(select(schema.meta.c.key, schema.meta.c.value))
        rows: dict[str, str] = {row.key: row.value for row in found}
        if rows.get("application") != schema.APPLICATION:
            raise ForeignStoreError(
                f"{self._describe()} has a meta table but is not an indica-async store; "
                "it was left untouched"
            )
        try:
            version = int(rows.get("schema_version", ""))
        except ValueError:
            raise StoreError(f"{self._describe()} is corrupt: no schema version") from None
        if version > schema.SCHEMA_VERSION:
            raise StoreError(
                f"{self._describe()} has schema version {version}, newer than this "
                f"indica-async knows ({schema.SCHEMA_VERSION}): upgrade indica-async"
            )
        return version

    def _describe(self) -> str:
        if self.backend == "sqlite":
            return self.target
        return "the PostgreSQL database " + make_url(self._url).render_as_string(True)

    async def aclose(self) -> None:
        """Close every connection of the store."""
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def write(self, *, busy_ms: int = _BUSY_MS) -> _Transaction:
        """A write transaction (on SQLite it holds the file's write lock throughout)."""
        return _Transaction(self.engine, write=True, busy_ms=busy_ms)

    def read(self) -> _Transaction:
        """A read transaction: a consistent view, blocking no writer."""
        return _Transaction(self.engine, write=False, busy_ms=_BUSY_MS)

    # --- reading ---------------------------------------------------------------------

    async def accounts(self) -> list[Account]:
        """Every account of the store, by name."""
        async with self.read() as connection:
            rows = await connection.execute(
                select(schema.accounts).order_by(schema.accounts.c.name)
            )
            return [_account(row._mapping) for row in rows]

    async def account(self, name: str) -> Account | None:
        """The account called ``name``, or ``None``."""
        async with self.read() as connection:
            return await find_account(connection, name)

    async def runs(self, account: str) -> list[RunRecord]:
        """The account's runs, oldest first (failed ones too)."""
        async with self.read() as connection:
            found = await find_account(connection, account)
            if found is None:
                return []
            rows = await connection.execute(
                select(schema.runs)
                .where(schema.runs.c.account_id == found.id)
                .order_by(schema.runs.c.id)
            )
            return [_run_record(row._mapping, account) for row in rows]

    async def changes(
        self, account: str, *, since: dt.date | None = None, run: int | None = None
    ) -> AsyncIterator[ChangeRecord]:
        """The account's changes in order: all, those of runs started on or after
        ``since``, or those of run ``run``. Streamed: any number of rows."""
        async with self.read() as connection:
            found = await find_account(connection, account)
            if found is None:
                return
            changes, runs = schema.changes, schema.runs
            query = (
                select(changes)
                .where(changes.c.account_id == found.id)
                .order_by(changes.c.run_id, changes.c.id)
            )
            if run is not None:
                query = query.where(changes.c.run_id == run)
            if since is not None:
                start = dt.datetime.combine(since, dt.time(), dt.timezone.utc)
                started = select(runs.c.id).where(
                    runs.c.account_id == found.id, runs.c.started_at >= start
                )
                query = query.where(changes.c.run_id.in_(started))
            result = await connection.stream(query.execution_options(yield_per=1000))
            async for row in result:
                yield _change(row._mapping)

    async def customers(self, account: str) -> dict[int, dict[str, Any]]:
        """The account's customers still listed (status ``active``), by id; for tests
        and small stores, since it holds them all in memory."""
        async with self.read() as connection:
            found = await find_account(connection, account)
            if found is None:
                return {}
            table = schema.customers
            rows = await connection.execute(
                select(table.c.customer_id, table.c.data).where(
                    table.c.account_id == found.id, table.c.status == "active"
                )
            )
            return {row.customer_id: orjson.loads(row.data) for row in rows}

    async def statuses(self, account: str) -> dict[int, str]:
        """Every stored customer of the account, by id, with its status."""
        async with self.read() as connection:
            found = await find_account(connection, account)
            if found is None:
                return {}
            table = schema.customers
            rows = await connection.execute(
                select(table.c.customer_id, table.c.status).where(table.c.account_id == found.id)
            )
            return {row.customer_id: row.status for row in rows}

    async def check(self) -> list[str]:
        """The backend's own integrity check: problems found (empty when sound)."""
        if self.backend != "sqlite":
            async with self.read() as connection:
                await connection.execute(select(func.count()).select_from(schema.customers))
            return []
        async with self.read() as connection:
            rows = (await connection.exec_driver_sql("PRAGMA integrity_check")).scalars().all()
        return [] if list(rows) == ["ok"] else [str(row) for row in rows]


class _Transaction:
    """``async with``: a connection in a transaction, committed on success."""

    def __init__(self, engine: AsyncEngine, *, write: bool, busy_ms: int) -> None:
        self._engine = engine
        self._options = {"indica_write": write, "indica_busy_ms": busy_ms}
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> AsyncConnection:
        connection = await self._engine.connect()
        try:
            connection = await connection.execution_options(**self._options)
            await connection.begin()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        return connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        assert connection is not None
        try:
            if exc_type is None:
                await connection.commit()
            else:
                await connection.rollback()
        finally:
            await connection.close()


async def find_account(connection: AsyncConnection, name: str) -> Account | None:
    """The account called ``name`` as the connection sees it, or ``None``."""
    row = (
        await connection.execute(select(schema.accounts).where(schema.accounts.c.name == name))
    ).first()
    return None if row is None else _account(row._mapping)


def _account(row: Any) -> Account:
    return Account(
        id=row["id"],
        name=row["name"],
        since=row["since"],
        synced_through=row["synced_through"],
    )


def _run_record(row: Any, account: str) -> RunRecord:
    fields = {field.name for field in attrs.fields(RunRecord)} - {"account"}
    return RunRecord(account=account, **{name: row[name] for name in fields})


def _change(row: Any) -> ChangeRecord:
    def loads(text: str | None) -> Any:
        return None if text is None else orjson.loads(text)

    return ChangeRecord(
        run=row["run_id"],
        customer_id=row["customer_id"],
        kind=row["kind"],
        fields=tuple(orjson.loads(row["fields"])),
        before=loads(row["before"]),
        after=loads(row["after"]),
    )
