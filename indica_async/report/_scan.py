"""One pass over the account's active customers: each JSON document parsed once.

The store keeps a customer as JSON text. Extracting fields in SQL parses a document
once per field on SQLite before 3.45 (and differs per dialect); a report over a
million customers needs each parsed once. So the rows are streamed (the same plain
``SELECT`` on both backends), parsed with orjson, and counted into a `Tally`; the
figures are then made from the tally. Memory grows with distinct values (days, zip
codes, emails), not with customers, except for the action list.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

import attrs
import orjson
from sqlalchemy import String, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from ..sync import _schema as schema

__all__ = ["CHANNELS", "EXPIRY_DAYS", "Expiring", "Tally", "scan_customers"]

#: The marketing channels, as the report names them.
CHANNELS: Final = ("email", "text", "call", "mail")
#: How far ahead the action list looks, in days.
EXPIRY_DAYS: Final = 90
#: Rows fetched per round trip.
_BATCH: Final = 5000
#: Separators dropped before phones are compared (SQL-free, so the same everywhere).
_PHONE_SEPARATORS: Final = str.maketrans("", "", "-(). +")


@attrs.frozen
class Expiring:
    """A customer whose recommendation or state ID ends within `EXPIRY_DAYS`."""

    customer_id: int
    what: str
    expires_on: str
    doc: dict[str, Any]


@attrs.define
class Tally:
    """What the figures need, counted over the base (the account's active customers)."""

    customers: int = 0
    #: ``(first window start, end)`` as ISO text -> customers.
    windows: Counter[tuple[str, str]] = attrs.Factory(Counter)
    #: ``(first window start, type or None)`` -> customers.
    types: Counter[tuple[str, Any]] = attrs.Factory(Counter)
    births: Counter[Any] = attrs.Factory(Counter)
    genders: Counter[Any] = attrs.Factory(Counter)
    languages: Counter[Any] = attrs.Factory(Counter)
    cities: Counter[tuple[Any, Any]] = attrs.Factory(Counter)
    zips: Counter[Any] = attrs.Factory(Counter)
    emails: Counter[str] = attrs.Factory(Counter)
    phones: Counter[str] = attrs.Factory(Counter)
    missing_email: int = 0
    missing_phone: int = 0
    missing_both: int = 0
    missing_birth: int = 0
    #: ``channel -> [allowed, reachable, consent dated]``.
    channels: dict[str, list[int]] = attrs.Factory(lambda: {name: [0, 0, 0] for name in CHANNELS})
    email_consents: Counter[Any] = attrs.Factory(Counter)
    phone_consents: Counter[Any] = attrs.Factory(Counter)
    expiring: list[Expiring] = attrs.Factory(list)


async def scan_customers(
    connection: AsyncConnection, account_id: int | None, *, today: dt.date
) -> Tally:
    """Stream the account's active customers (deleted and missing ones are not part of
    the base) and count them."""
    tally = Tally()
    if account_id is None:
        return tally
    customers = schema.customers
    query = (
        select(
            # Dates as their stored text: counted first, parsed once per distinct value.
            type_coerce(customers.c.first_window_start, String),
            type_coerce(customers.c.first_window_end, String),
            customers.c.data,
        )
        .where(customers.c.account_id == account_id, customers.c.status == "active")
        .execution_options(yield_per=_BATCH)
    )
    lo, hi = today.isoformat(), (today + dt.timedelta(days=EXPIRY_DAYS)).isoformat()
    result = await connection.stream(query)
    async for rows in result.partitions(_BATCH):
        _count(tally, rows, lo, hi)
    return tally


def _count(tally: Tally, rows: Sequence[Any], lo: str, hi: str) -> None:
    """Count a batch of ``(start, end, data)`` rows into the tally.

    This runs once per customer: everything is bound to a local name first, and the
    loop body is written out rather than split into calls (about half the time).
    """
    loads, separators = orjson.loads, _PHONE_SEPARATORS
    windows, types, births = tally.windows, tally.types, tally.births
    genders, languages, cities, zips = tally.genders, tally.languages, tally.cities, tally.zips
    emails, phones, expiring = tally.emails, tally.phones, tally.expiring
    email_consents, phone_consents = tally.email_consents, tally.phone_consents
    email_n, text_n, call_n, mail_n = (tally.channels[name] for name in CHANNELS)
    no_email = no_phone = no_both = no_birth = 0
    for start, end, data in rows:
        doc = loads(data)
        get = doc.get
        windows[start, end] += 1
        types[start, get("type")] += 1
        born = get("date_of_birth")
        births[born] += 1
        genders[get("gender")] += 1
        languages[get("preferred_language")] += 1
        address = get("address") or {}
        cities[address.get("city"), address.get("state")] += 1
        zips[address.get("zip")] += 1

        email: Any = get("email")
        phone: Any = get("phone")
        # Values come from the SDK's models: a string or None.
        has_email = bool(email and email.strip())
        has_phone = bool(phone and phone.strip())
        if has_email:
            emails[email.strip().lower()] += 1
        else:
            no_email += 1
        if has_phone:
            phones[phone.translate(separators)] += 1
        else:
            no_phone += 1
            if not has_email:
                no_both += 1
        if not (born and born.strip()):
            no_birth += 1

        email_dated = get("email_consent_date")
        phone_dated = get("phone_consent_date")
        if email_dated is not None:
            email_consents[email_dated] += 1
        if phone_dated is not None:
            phone_consents[phone_dated] += 1
        if get("email_messages_allowed") is True:
            email_n[0] += 1
            email_n[1] += has_email
            email_n[2] += email_dated is not None
        if get("text_messages_allowed") is True:
            text_n[0] += 1
            text_n[1] += has_phone
            text_n[2] += phone_dated is not None
        if get("call_messages_allowed") is True:
            call_n[0] += 1
            call_n[1] += has_phone
            call_n[2] += phone_dated is not None
        if get("mail_messages_allowed") is True:
            street = address.get("street_address_1")
            mail_n[0] += 1
            mail_n[1] += bool(street and street.strip())

        recommendation = get("recommendation")
        if recommendation:
            # ISO dates compare as text; the figure parses (and drops) anything malformed.
            ends = recommendation.get("valid_to")
            if ends.__class__ is str and lo <= ends <= hi:
                expiring.append(Expiring(doc["id"], "recommendation", ends, doc))
            ends = recommendation.get("state_id_expires_on")
            if ends.__class__ is str and lo <= ends <= hi:
                expiring.append(Expiring(doc["id"], "state_id", ends, doc))
    tally.customers += len(rows)
    tally.missing_email += no_email
    tally.missing_phone += no_phone
    tally.missing_both += no_both
    tally.missing_birth += no_birth
