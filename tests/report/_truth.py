"""The report's figures computed straight from the sandbox's ground truth, in plain
Python: no SQL, no code of ``indica_async.report``."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter
from typing import Any

from indica_async.sandbox import SandboxRecords


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _first(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, 1)


def _weeks(first: dt.date, last: dt.date) -> list[dt.date]:
    out, week = [], _monday(first)
    while week <= last:
        out.append(week)
        week += dt.timedelta(days=7)
    return out


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, month = [], _first(first)
    while month <= last:
        out.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def customers(records: SandboxRecords) -> list[tuple[dt.date, dict[str, Any]]]:
    return [(record.created, record.body) for record in records]


def growth(rows: list[tuple[dt.date, dict[str, Any]]], today: dt.date) -> dict[str, Any]:
    days = Counter(created for created, _ in rows)
    weeks = Counter(_monday(day) for day in days.elements())
    months = Counter(_first(day) for day in days.elements())
    first = min(days)
    all_months = [(m, months[m]) for m in _months(first, today)]
    complete = [(m, n) for m, n in all_months[1:] if m < _first(today)][-12:]
    slope = None
    if len(complete) >= 2:
        slope = statistics.linear_regression(range(len(complete)), [n for _, n in complete]).slope
    return {
        "weeks": [(w, weeks[w]) for w in _weeks(first, today)],
        "months": all_months,
        "complete_months": len(complete),
        "slope": slope,
    }


def type_totals(rows: list[tuple[dt.date, dict[str, Any]]]) -> dict[str, int]:
    return dict(Counter(body.get("type") or "not given" for _, body in rows))


def type_per_month(rows: list[tuple[dt.date, dict[str, Any]]]) -> Counter[tuple[dt.date, str]]:
    return Counter((_first(created), body.get("type") or "not given") for created, body in rows)


def action_list(
    rows: list[tuple[dt.date, dict[str, Any]]], today: dt.date
) -> list[tuple[Any, ...]]:
    items = []
    for _, body in rows:
        recommendation = body.get("recommendation") or {}
        for what, key in (("recommendation", "valid_to"), ("state_id", "state_id_expires_on")):
            value = recommendation.get(key)
            if value is None:
                continue
            expires = dt.date.fromisoformat(value)
            if 0 <= (expires - today).days <= 90:
                items.append(
                    (
                        expires,
                        body["id"],
                        what,
                        body.get("first_name"),
                        body.get("last_name"),
                        body.get("email"),
                        body.get("phone"),
                        body.get("email_messages_allowed") is True,
                        body.get("text_messages_allowed") is True,
                        body.get("call_messages_allowed") is True,
                    )
                )
    return sorted(items, key=lambda item: (item[0], item[1], item[2]))


def buckets(items: list[tuple[Any, ...]], today: dt.date) -> dict[str, tuple[int, int, int]]:
    out = {}
    for what in ("recommendation", "state_id"):
        days = [(item[0] - today).days for item in items if item[2] == what]
        out[what] = (
            sum(d <= 30 for d in days),
            sum(30 < d <= 60 for d in days),
            sum(d > 60 for d in days),
        )
    return out


def channels(rows: list[tuple[dt.date, dict[str, Any]]]) -> dict[str, tuple[int, int, int | None]]:
    out: dict[str, tuple[int, int, int | None]] = {}
    spec = {
        "email": ("email_messages_allowed", lambda b: b.get("email"), "email_consent_date"),
        "text": ("text_messages_allowed", lambda b: b.get("phone"), "phone_consent_date"),
        "call": ("call_messages_allowed", lambda b: b.get("phone"), "phone_consent_date"),
        "mail": (
            "mail_messages_allowed",
            lambda b: (b.get("address") or {}).get("street_address_1"),
            None,
        ),
    }
    for name, (flag, contact, dated) in spec.items():
        allowed = [body for _, body in rows if body.get(flag) is True]
        out[name] = (
            len(allowed),
            sum(not _blank(contact(body)) for body in allowed),
            None if dated is None else sum(body.get(dated) is not None for body in allowed),
        )
    return out


def consent_months(
    rows: list[tuple[dt.date, dict[str, Any]]], field: str
) -> list[tuple[dt.date, int]]:
    days = [dt.date.fromisoformat(b[field]) for _, b in rows if b.get(field) is not None]
    months = Counter(_first(day) for day in days)
    return [(m, months[m]) for m in _months(min(days), max(days))] if days else []


def ages(rows: list[tuple[dt.date, dict[str, Any]]], today: dt.date) -> dict[str, int]:
    bands: Counter[str] = Counter()
    for _, body in rows:
        if body.get("date_of_birth") is None:
            bands["not given"] += 1
            continue
        born = dt.date.fromisoformat(body["date_of_birth"])
        had_birthday = (today.month, today.day) >= (born.month, born.day)
        age = today.year - born.year - (0 if had_birthday else 1)
        if age < 21:
            bands["under 21"] += 1
        elif age >= 70:
            bands["70+"] += 1
        else:
            decade = age // 10 * 10
            bands[f"{max(decade, 21)}-{decade + 9}"] += 1
    return dict(bands)


def counted(rows: list[tuple[dt.date, dict[str, Any]]], field: str) -> dict[str, int]:
    return dict(Counter(body.get(field) or "not given" for _, body in rows))


def top(counter: Counter[str], n: int = 10) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:n]


def places(rows: list[tuple[dt.date, dict[str, Any]]]) -> tuple[list[Any], list[Any]]:
    cities: Counter[str] = Counter()
    zips: Counter[str] = Counter()
    for _, body in rows:
        address = body.get("address") or {}
        if address.get("city"):
            state = address.get("state")
            cities[f"{address['city']}, {state}" if state else address["city"]] += 1
        if address.get("zip"):
            zips[address["zip"]] += 1
    return top(cities), top(zips)


def quality(rows: list[tuple[dt.date, dict[str, Any]]]) -> dict[str, int]:
    bodies = [body for _, body in rows]
    emails = Counter(b["email"].strip().lower() for b in bodies if not _blank(b.get("email")))
    phones = Counter(re.sub(r"\D", "", b["phone"]) for b in bodies if not _blank(b.get("phone")))
    return {
        "customers": len(bodies),
        "missing_email": sum(_blank(b.get("email")) for b in bodies),
        "missing_phone": sum(_blank(b.get("phone")) for b in bodies),
        "missing_both": sum(_blank(b.get("email")) and _blank(b.get("phone")) for b in bodies),
        "missing_date_of_birth": sum(_blank(b.get("date_of_birth")) for b in bodies),
        "shared_emails": sum(n > 1 for n in emails.values()),
        "customers_sharing_email": sum(n for n in emails.values() if n > 1),
        "shared_phones": sum(n > 1 for n in phones.values()),
        "customers_sharing_phone": sum(n for n in phones.values() if n > 1),
    }
