"""One function a figure: SQL over the report's base (or the store's run history)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import orjson
from sqlalchemy import Table, and_, case, desc, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from ..sync import _schema as schema
from ._model import (
    ActionItem,
    ChangesSinceLastSync,
    Channel,
    Count,
    DataQuality,
    Demographics,
    Expirations,
    Growth,
    MarketingReach,
    Period,
    RunSummary,
    StoreSummary,
    TypeMix,
)
from ._periods import (
    AGE_BANDS,
    NOT_GIVEN,
    age_band,
    month_of,
    months_between,
    parse_day,
    per_period,
    ranked,
    trend,
)

__all__ = [
    "EXPIRY_HORIZONS",
    "KNOWN_TYPES",
    "TOP_PLACES",
    "changes_since_last_sync",
    "data_quality",
    "demographics",
    "expirations",
    "growth",
    "marketing_reach",
    "store_summary",
    "type_mix",
]

#: Days ahead of the expiry buckets: 0-30, 31-60 and 61-90.
EXPIRY_HORIZONS = (30, 60, 90)
#: The documented customer types, in this order; others follow as the API sent them.
KNOWN_TYPES = ("recreational", "medical", "medical_with_rec")
#: How many cities and zip codes the report lists.
TOP_PLACES = 10
#: Runs listed under "recent runs".
RECENT_RUNS = 10


def _blank(column: ColumnElement[Any]) -> ColumnElement[bool]:
    return or_(column.is_(None), func.trim(column) == "")


def _present(column: ColumnElement[Any]) -> ColumnElement[bool]:
    return and_(column.is_not(None), func.trim(column) != "")


def _sum(condition: ColumnElement[bool]) -> Any:
    # SUM of an empty set is NULL: coalesce, so an empty base counts zero.
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def store_summary(
    connection: AsyncConnection, account_id: int | None, *, account: str
) -> StoreSummary:
    """How many of the account's customers are active (the base), deleted, missing."""
    if account_id is None:
        return StoreSummary(account, False, None, 0, 0, 0)
    customers = schema.customers
    rows = await connection.execute(
        select(customers.c.status, func.count())
        .where(customers.c.account_id == account_id)
        .group_by(customers.c.status)
    )
    statuses: dict[str, int] = {row[0]: row[1] for row in rows}
    synced = await connection.scalar(
        select(schema.accounts.c.synced_through).where(schema.accounts.c.id == account_id)
    )
    return StoreSummary(
        account=account,
        found=True,
        synced_through=synced,
        active=statuses.get("active", 0),
        deleted=statuses.get("deleted", 0),
        missing=statuses.get("missing", 0),
    )


async def growth(connection: AsyncConnection, base: Table, *, today: dt.date) -> Growth:
    """New customers per week and month, by the start of their first window."""
    rows = await connection.execute(
        select(base.c.created, base.c.created_end, func.count()).group_by(
            base.c.created, base.c.created_end
        )
    )
    per_day: Counter[dt.date] = Counter()
    exact = widest = 0
    for created, created_end, count in rows:
        per_day[created] += count
        width = (created_end - created).days + 1
        widest = max(widest, width)
        if width == 1:
            exact += count
    months = per_period(per_day, by="month", through=today)
    return Growth(
        weeks=per_period(per_day, by="week", through=today),
        months=months,
        trend=trend(months, today=today),
        dated_to_the_day=exact,
        widest_window_days=widest,
    )


async def type_mix(connection: AsyncConnection, base: Table, *, today: dt.date) -> TypeMix:
    """Customers of each type, per month of creation."""
    rows = await connection.execute(
        select(base.c.created, base.c.type, func.count()).group_by(base.c.created, base.c.type)
    )
    cells: Counter[tuple[dt.date, str]] = Counter()
    totals: Counter[str] = Counter()
    first: dt.date | None = None
    for created, kind, count in rows:
        label = kind if kind else NOT_GIVEN
        cells[month_of(created), label] += count
        totals[label] += count
        first = created if first is None else min(first, created)
    if first is None:
        return TypeMix((), (), {}, ())
    months = tuple(months_between(first, max(today, max(month for month, _ in cells))))
    others = sorted(set(totals) - set(KNOWN_TYPES) - {NOT_GIVEN})
    types = tuple(
        kind for kind in (*KNOWN_TYPES, *others, NOT_GIVEN) if totals[kind] or kind in KNOWN_TYPES
    )
    return TypeMix(
        types=types,
        months=months,
        counts={kind: tuple(cells[month, kind] for month in months) for kind in types},
        totals=tuple(Count(kind, totals[kind]) for kind in types),
    )


async def expirations(connection: AsyncConnection, base: Table, *, today: dt.date) -> Expirations:
    """Recommendations and state IDs expiring from today through ``EXPIRY_HORIZONS[-1]``
    days on, and the list of whom to contact (personal data)."""
    horizon = (today + dt.timedelta(days=EXPIRY_HORIZONS[-1])).isoformat()
    items: list[ActionItem] = []
    buckets: dict[str, tuple[int, int, int]] = {}
    for what, column in (
        ("recommendation", base.c.recommendation_valid_to),
        ("state_id", base.c.state_id_expires_on),
    ):
        # ISO dates compare as text, the same on both backends; parse_day drops any
        # malformed value that happened to fall inside the range.
        rows = await connection.execute(
            select(
                base.c.customer_id,
                base.c.first_name,
                base.c.last_name,
                column,
                base.c.email,
                base.c.phone,
                base.c.email_allowed,
                base.c.text_allowed,
                base.c.call_allowed,
            ).where(column >= today.isoformat(), column <= horizon)
        )
        counts = [0, 0, 0]
        for row in rows:
            expires = parse_day(row[3])
            if expires is None or not today <= expires:
                continue
            days_left = (expires - today).days
            counts[next(i for i, h in enumerate(EXPIRY_HORIZONS) if days_left <= h)] += 1
            items.append(
                ActionItem(
                    customer_id=row.customer_id,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    what=what,
                    expires_on=expires,
                    days_left=days_left,
                    email=row.email,
                    phone=row.phone,
                    email_allowed=bool(row.email_allowed),
                    text_allowed=bool(row.text_allowed),
                    call_allowed=bool(row.call_allowed),
                )
            )
        buckets[what] = (counts[0], counts[1], counts[2])
    items.sort(key=lambda item: (item.expires_on, item.customer_id, item.what))
    return Expirations(today=today, buckets=buckets, action_list=tuple(items))


async def marketing_reach(connection: AsyncConnection, base: Table) -> MarketingReach:
    """Per channel: customers who allow it, who can be reached on it, and consent dates."""
    c = base.c
    phone = _present(c.phone)
    channels = {
        # name: (allowed flag, the contact it needs, its consent date)
        "email": (c.email_allowed, _present(c.email), c.email_consent_date),
        "text": (c.text_allowed, phone, c.phone_consent_date),
        "call": (c.call_allowed, phone, c.phone_consent_date),
        "mail": (c.mail_allowed, _present(c.street), None),
    }
    columns: list[Any] = [func.count()]
    for allowed, contact, dated in channels.values():
        columns += [_sum(allowed == 1), _sum(and_(allowed == 1, contact))]
        if dated is not None:
            columns.append(_sum(and_(allowed == 1, dated.is_not(None))))
    row = list((await connection.execute(select(*columns).select_from(base))).one())
    total = row.pop(0)
    found = []
    for name, (_, _, dated) in channels.items():
        allowed_n, reachable = row.pop(0), row.pop(0)
        found.append(Channel(name, allowed_n, reachable, row.pop(0) if dated is not None else None))

    async def per_month(column: ColumnElement[Any]) -> tuple[Period, ...]:
        days: Counter[dt.date] = Counter()
        result = await connection.execute(
            select(column, func.count()).where(column.is_not(None)).group_by(column)
        )
        for value, count in result:
            day = parse_day(value)
            if day is not None:
                days[day] += count
        return per_period(days, by="month")

    return MarketingReach(
        customers=total,
        channels=tuple(found),
        email_consents=await per_month(c.email_consent_date),
        phone_consents=await per_month(c.phone_consent_date),
    )


async def _grouped(connection: AsyncConnection, *columns: ColumnElement[Any]) -> list[Any]:
    return list(await connection.execute(select(*columns, func.count()).group_by(*columns)))


async def demographics(connection: AsyncConnection, base: Table, *, today: dt.date) -> Demographics:
    """Age bands, gender, preferred language, and the top cities and zip codes."""
    c = base.c
    bands: Counter[str] = Counter()
    for born, count in await _grouped(connection, c.date_of_birth):
        bands[age_band(born, today=today)] += count
    band_order = [name for name, _ in AGE_BANDS] + [NOT_GIVEN]
    ages = tuple(Count(name, bands[name]) for name in band_order if bands[name])

    def labelled(rows: list[Any]) -> Counter[str]:
        counts: Counter[str] = Counter()
        for value, count in rows:
            counts[value if value else NOT_GIVEN] += count
        return counts

    cities: Counter[str] = Counter()
    for city, state, count in await _grouped(connection, c.city, c.state):
        if city and city.strip():
            cities[f"{city.strip()}, {state.strip()}" if state else city.strip()] += count
    zips: Counter[str] = Counter()
    for code, count in await _grouped(connection, c.zip):
        if code and code.strip():
            zips[code.strip()] += count
    return Demographics(
        age_bands=ages,
        genders=ranked(labelled(await _grouped(connection, c.gender)).items()),
        languages=ranked(labelled(await _grouped(connection, c.language)).items()),
        top_cities=ranked(cities.items(), top=TOP_PLACES),
        top_zips=ranked(zips.items(), top=TOP_PLACES),
    )


def _digits(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The phone with its usual separators removed (portable: no regex in SQLite)."""
    for separator in ("-", " ", "(", ")", ".", "+"):
        column = func.replace(column, separator, "")
    return column


async def _shared(connection: AsyncConnection, key: ColumnElement[Any]) -> tuple[int, int]:
    """Distinct values of ``key`` held by more than one customer, and those customers."""
    groups = (
        select(key.label("key"), func.count().label("n"))
        .where(key.is_not(None), key != "")
        .group_by(key)
        .having(func.count() > 1)
        .subquery()
    )
    shared, holders = (
        await connection.execute(select(func.count(), func.coalesce(func.sum(groups.c.n), 0)))
    ).one()
    return int(shared), int(holders)


async def data_quality(connection: AsyncConnection, base: Table) -> DataQuality:
    """Missing emails, phones and birth dates; emails and phones shared by several."""
    c = base.c
    total, no_email, no_phone, neither, no_birth = (
        await connection.execute(
            select(
                func.count(),
                _sum(_blank(c.email)),
                _sum(_blank(c.phone)),
                _sum(and_(_blank(c.email), _blank(c.phone))),
                _sum(_blank(c.date_of_birth)),
            ).select_from(base)
        )
    ).one()
    shared_emails, sharing_email = await _shared(connection, func.lower(func.trim(c.email)))
    shared_phones, sharing_phone = await _shared(connection, _digits(c.phone))
    return DataQuality(
        customers=total,
        missing_email=no_email,
        missing_phone=no_phone,
        missing_both=neither,
        missing_date_of_birth=no_birth,
        shared_emails=shared_emails,
        customers_sharing_email=sharing_email,
        shared_phones=shared_phones,
        customers_sharing_phone=sharing_phone,
    )


def _run(row: Any) -> RunSummary:
    return RunSummary(
        id=row.id,
        mode=row.mode,
        outcome=row.outcome,
        started_at=row.started_at,
        start_date=row.start_date,
        end_date=row.end_date,
        new=row.new,
        changed=row.changed,
        deleted=row.deleted,
        missing=row.missing,
        restored=row.restored,
    )


async def changes_since_last_sync(
    connection: AsyncConnection, account_id: int | None
) -> ChangesSinceLastSync:
    """The last completed run's counts and most changed fields, and the recent runs."""
    if account_id is None:
        return ChangesSinceLastSync(None, (), ())
    runs, changes = schema.runs, schema.changes
    recent = [
        _run(row)
        for row in await connection.execute(
            select(runs)
            .where(runs.c.account_id == account_id)
            .order_by(desc(runs.c.id))
            .limit(RECENT_RUNS)
        )
    ]
    last_row = (
        await connection.execute(
            select(runs)
            .where(runs.c.account_id == account_id, runs.c.outcome == "completed")
            .order_by(desc(runs.c.id))
            .limit(1)
        )
    ).first()
    if last_row is None:
        return ChangesSinceLastSync(None, (), tuple(recent))
    fields: Counter[str] = Counter()
    result = await connection.stream(
        select(changes.c.fields)
        .where(
            changes.c.account_id == account_id,
            changes.c.run_id == last_row.id,
            changes.c.kind == "changed",
        )
        .execution_options(yield_per=2000)
    )
    async for (names,) in result:
        fields.update(orjson.loads(names))
    return ChangesSinceLastSync(_run(last_row), ranked(fields.items()), tuple(recent))
