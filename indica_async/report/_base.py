"""The report's base: one narrow row per active customer, extracted from its JSON once.

The store keeps each customer as JSON text (``customers.data``). Reading a field out
of it is the one thing SQLite and PostgreSQL spell differently, so it happens here,
once per report: the fields every figure needs go into a temporary table of plain
columns, and the figures are ordinary ``GROUP BY`` queries over it on either backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    case,
    cast,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from ..sync import _schema as schema

__all__ = ["TEXT_FIELDS", "base", "report_base"]

#: Text columns of the base, and where each comes from in the customer's JSON.
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "type": ("type",),
    "gender": ("gender",),
    "language": ("preferred_language",),
    "date_of_birth": ("date_of_birth",),
    "email": ("email",),
    "phone": ("phone",),
    "city": ("address", "city"),
    "state": ("address", "state"),
    "zip": ("address", "zip"),
    "recommendation_valid_to": ("recommendation", "valid_to"),
    "state_id_expires_on": ("recommendation", "state_id_expires_on"),
    "email_consent_date": ("email_consent_date",),
    "phone_consent_date": ("phone_consent_date",),
    "street": ("address", "street_address_1"),
}
#: Flag columns: 1 where the JSON holds ``true``, else 0 (false, null or absent).
FLAG_FIELDS: dict[str, str] = {
    "email_allowed": "email_messages_allowed",
    "text_allowed": "text_messages_allowed",
    "call_allowed": "call_messages_allowed",
    "mail_allowed": "mail_messages_allowed",
}

_metadata = MetaData()
#: The temporary table (dates from JSON stay ISO text: they compare and sort as dates).
base = Table(
    "indica_report_base",
    _metadata,
    Column("customer_id", BigInteger, primary_key=True, autoincrement=False),
    Column("created", Date, nullable=False),
    Column("created_end", Date, nullable=False),
    *(Column(name, String) for name in TEXT_FIELDS),
    *(Column(name, Integer, nullable=False) for name in FLAG_FIELDS),
    prefixes=["TEMPORARY"],
)


def _fields(connection: AsyncConnection, account_id: int) -> Any:
    """``SELECT`` of the base's columns for the account's active customers."""
    customers = schema.customers
    active = (customers.c.account_id == account_id) & (customers.c.status == "active")
    text: dict[str, ColumnElement[Any]]
    if connection.dialect.name == "postgresql":
        # Parsed once per row: OFFSET 0 keeps the planner from inlining the cast into
        # every field below (which would parse the JSON once per field).
        parsed = (
            select(
                customers.c.customer_id,
                customers.c.first_window_start,
                customers.c.first_window_end,
                cast(customers.c.data, JSONB).label("j"),
            )
            .where(active)
            .offset(0)
            .subquery()
        )
        source: Any = parsed
        doc = parsed.c.j
        text = {name: doc[path].astext for name, path in TEXT_FIELDS.items()}
        flags = {
            name: case((doc[field].astext == "true", 1), else_=0)
            for name, field in FLAG_FIELDS.items()
        }
        ids, start, end = (
            parsed.c.customer_id,
            parsed.c.first_window_start,
            parsed.c.first_window_end,
        )
        where = None
    else:
        source = customers
        data = customers.c.data
        # json_extract gives SQL text for JSON strings; SQLite caches the parsed
        # document across the calls of one row.
        text = {
            name: func.json_extract(data, "$." + ".".join(path))
            for name, path in TEXT_FIELDS.items()
        }
        flags = {
            name: case((func.json_type(data, "$." + field) == "true", 1), else_=0)
            for name, field in FLAG_FIELDS.items()
        }
        ids, start, end = (
            customers.c.customer_id,
            customers.c.first_window_start,
            customers.c.first_window_end,
        )
        where = active
    query = select(
        ids,
        start,
        end,
        *(column.label(name) for name, column in text.items()),
        *(column.label(name) for name, column in flags.items()),
    ).select_from(source)
    if where is not None:
        query = query.where(where)
    return query


@asynccontextmanager
async def report_base(connection: AsyncConnection, account_id: int) -> AsyncIterator[Table]:
    """Fill the temporary base table for the account; drop it afterwards."""
    await connection.run_sync(lambda sync: base.drop(sync, checkfirst=True))
    await connection.run_sync(base.create)
    try:
        await connection.execute(
            base.insert().from_select(
                [column.name for column in base.c], _fields(connection, account_id)
            )
        )
        yield base
    finally:
        await connection.run_sync(base.drop)
