"""One function a figure: from the tally of one pass over the customers, or (the store's
size and its run history) from SQL aggregates."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import orjson
from sqlalchemy import desc, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

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
from ._scan import EXPIRY_DAYS, Tally

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
EXPIRY_HORIZONS = (30, 60, EXPIRY_DAYS)
#: The documented customer types, in this order; others follow as the API sent them.
KNOWN_TYPES = ("recreational", "medical", "medical_with_rec")
#: How many cities and zip codes the report lists.
TOP_PLACES = 10
#: Runs listed under "recent runs".
RECENT_RUNS = 10


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


def _day(value: Any) -> dt.date:
    day = parse_day(value)
    if day is None:  # the store's own date columns: never malformed
        raise ValueError(f"not a date: {value!r}")
    return day


def _label(value: Any) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else NOT_GIVEN


def growth(tally: Tally, *, today: dt.date) -> Growth:
    """New customers per week and month, by the start of their first window."""
    per_day: Counter[dt.date] = Counter()
    exact = widest = 0
    for (start, end), count in tally.windows.items():
        created = _day(start)
        per_day[created] += count
        width = (_day(end) - created).days + 1
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


def type_mix(tally: Tally, *, today: dt.date) -> TypeMix:
    """Customers of each type, per month of creation."""
    cells: Counter[tuple[dt.date, str]] = Counter()
    totals: Counter[str] = Counter()
    for (start, kind), count in tally.types.items():
        label = _label(kind)
        cells[month_of(_day(start)), label] += count
        totals[label] += count
    if not cells:
        return TypeMix((), (), {}, ())
    first = min(month for month, _ in cells)
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


def expirations(tally: Tally, *, today: dt.date) -> Expirations:
    """Recommendations and state IDs expiring from today through ``EXPIRY_HORIZONS[-1]``
    days on, and the list of whom to contact (personal data)."""
    items: list[ActionItem] = []
    counts = {"recommendation": [0, 0, 0], "state_id": [0, 0, 0]}
    for (
        customer_id,
        what,
        ends,
        first,
        last,
        email,
        phone,
        by_email,
        by_text,
        by_call,
    ) in tally.expiring:
        expires = parse_day(ends)
        if expires is None:
            continue
        days_left = (expires - today).days
        if not 0 <= days_left <= EXPIRY_HORIZONS[2]:
            continue
        counts[what][
            0 if days_left <= EXPIRY_HORIZONS[0] else 1 if days_left <= EXPIRY_HORIZONS[1] else 2
        ] += 1
        items.append(
            ActionItem(
                customer_id=customer_id,
                first_name=first,
                last_name=last,
                what=what,
                expires_on=expires,
                days_left=days_left,
                email=email,
                phone=phone,
                email_allowed=by_email,
                text_allowed=by_text,
                call_allowed=by_call,
            )
        )
    items.sort(key=lambda item: (item.expires_on, item.customer_id, item.what))
    return Expirations(
        today=today,
        buckets={what: (c[0], c[1], c[2]) for what, c in counts.items()},
        action_list=tuple(items),
    )


def _per_month(days: Counter[Any]) -> tuple[Period, ...]:
    parsed: Counter[dt.date] = Counter()
    for value, count in days.items():
        day = parse_day(value)
        if day is not None:
            parsed[day] += count
    return per_period(parsed, by="month")


def marketing_reach(tally: Tally) -> MarketingReach:
    """Per channel: customers who allow it, who can be reached on it, and consent dates."""
    return MarketingReach(
        customers=tally.customers,
        channels=tuple(
            Channel(name, allowed, reachable, dated if name != "mail" else None)
            for name, (allowed, reachable, dated) in tally.channels.items()
        ),
        email_consents=_per_month(tally.email_consents),
        phone_consents=_per_month(tally.phone_consents),
    )


def demographics(tally: Tally, *, today: dt.date) -> Demographics:
    """Age bands, gender, preferred language, and the top cities and zip codes."""
    bands: Counter[str] = Counter()
    for born, count in tally.births.items():
        bands[age_band(born, today=today)] += count
    band_order = [name for name, _ in AGE_BANDS] + [NOT_GIVEN]

    def labelled(counts: Counter[Any]) -> Counter[str]:
        out: Counter[str] = Counter()
        for value, count in counts.items():
            out[_label(value)] += count
        return out

    cities: Counter[str] = Counter()
    for (city, state), count in tally.cities.items():
        if _label(city) != NOT_GIVEN:
            name = city.strip()
            cities[f"{name}, {state.strip()}" if _label(state) != NOT_GIVEN else name] += count
    zips = labelled(tally.zips)
    zips.pop(NOT_GIVEN, None)
    return Demographics(
        age_bands=tuple(Count(name, bands[name]) for name in band_order if bands[name]),
        genders=ranked(labelled(tally.genders).items()),
        languages=ranked(labelled(tally.languages).items()),
        top_cities=ranked(cities.items(), top=TOP_PLACES),
        top_zips=ranked(zips.items(), top=TOP_PLACES),
    )


def data_quality(tally: Tally) -> DataQuality:
    """Missing emails, phones and birth dates; emails and phones shared by several."""
    shared_emails = [count for count in tally.emails.values() if count > 1]
    shared_phones = [count for count in tally.phones.values() if count > 1]
    return DataQuality(
        customers=tally.customers,
        missing_email=tally.missing_email,
        missing_phone=tally.missing_phone,
        missing_both=tally.missing_both,
        missing_date_of_birth=tally.missing_birth,
        shared_emails=len(shared_emails),
        customers_sharing_email=sum(shared_emails),
        shared_phones=len(shared_phones),
        customers_sharing_phone=sum(shared_phones),
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
