"""What differs between SQLite and PostgreSQL, in one place."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Final

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "insert_ignore",
    "insert_rows_ignoring_conflicts",
    "is_lock_busy",
    "store_day",
    "try_lock_account",
]


def insert_ignore(connection: AsyncConnection, table: Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


#: Bound parameters per SQLite statement: SQLite's default limit (999 before 3.32).
_SQLITE_VARIABLES: Final = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def store_day(connection: AsyncConnection) -> Callable[[dt.date], Any]:
    """How a day goes to the driver in `insert_rows_ignoring_conflicts`'s rows.

    SQLAlchemy's SQLite ``Date`` type stores a day as its ISO text; asyncpg takes dates.
    """
    if connection.dialect.name == "sqlite":
        return dt.date.isoformat
    return _same


def _same(day: dt.date) -> dt.date:
    return day


async def insert_rows_ignoring_conflicts(
    connection: AsyncConnection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert ``rows`` (tuples of ``columns``' values) into ``table``, skipping conflicts.

    Days in the rows are as `store_day` makes them. On SQLite the rows are one statement
    (a few before SQLite 3.32), handed to the driver's thread in one step: one
    ``INSERT`` per row made sqlite3 take the GIL back once a row, and SQLAlchemy's
    cursor handling took three trips to the driver's thread a statement, each waiting
    for the event loop. Rows of one length each time keep SQLite's statement cache
    small.
    """
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        await connection.execute(
            insert_ignore(connection, table), [dict(zip(columns, row, strict=True)) for row in rows]
        )
        return
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    per_statement = max(1, _SQLITE_VARIABLES // len(columns))
    whole = len(rows) - len(rows) % per_statement
    try:
        if whole:  # only where a batch outgrows one statement (old SQLite)
            cursor = await driver.executemany(
                _sqlite_insert(connection, table, columns, per_statement),
                [_flat(rows[at : at + per_statement]) for at in range(0, whole, per_statement)],
            )
            await cursor.close()
        if whole < len(rows):
            await driver.execute_fetchall(
                _sqlite_insert(connection, table, columns, len(rows) - whole), _flat(rows[whole:])
            )
    except sqlite3.Error as exc:
        # As SQLAlchemy reports a failed statement, without the rows (customer data).
        raise DBAPIError.instance(
            f"INSERT INTO {table.name} ({len(rows)} rows)",
            None,
            exc,
            sqlite3.Error,
            hide_parameters=True,
            dialect=connection.dialect,
        ) from exc


def _flat(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(itertools.chain.from_iterable(rows))


def _sqlite_insert(
    connection: AsyncConnection, table: Table, columns: Sequence[str], count: int
) -> str:
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    row = "(" + ", ".join("?" * len(columns)) + ")"
    values = ", ".join([row] * count)
    return f"INSERT INTO {quote(table.name)} ({names}) VALUES {values} ON CONFLICT DO NOTHING"


def _lock_key(account: str) -> int:
    # A signed 64-bit key from the account's name, fixed across processes and versions.
    digest = hashlib.blake2b(f"indica-async sync:{account}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def try_lock_account(connection: AsyncConnection, account: str, *, wait: bool) -> bool:
    """Lock ``account`` for the connection's transaction; ``False`` if another holds it.

    PostgreSQL: a transaction-scoped advisory lock, released by commit, rollback, or
    the server when the connection dies. SQLite: the transaction already holds the
    file's write lock (``BEGIN IMMEDIATE``), which excludes every other writer.
    """
    if connection.dialect.name != "postgresql":
        return True
    key = _lock_key(account)
    if wait:
        await connection.execute(select(func.pg_advisory_xact_lock(key)))
        return True
    return bool(await connection.scalar(select(func.pg_try_advisory_xact_lock(key))))


def is_lock_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked" (another writer holds the file)."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text
