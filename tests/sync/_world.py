"""What the sync tests share: a sandbox whose data ends today, and the ground truth."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from indica_async.models import Address, Recommendation
from indica_async.sandbox import CUSTOMER_FIELDS, SandboxConfig, SandboxRecords

TODAY = dt.date.today()
SINCE = TODAY - dt.timedelta(days=60)
#: Changes and deletions fall before this day, outside an incremental run's overlap.
OLD = TODAY - dt.timedelta(days=10)
_NESTED = {
    "address": [field.name for field in attrs.fields(Address)],
    "recommendation": [field.name for field in attrs.fields(Recommendation)],
}


def config(customers: int = 300, **kwargs: Any) -> SandboxConfig:
    """A small sandbox whose customers were created over the last 60 days."""
    return SandboxConfig(customers=customers, start_date=SINCE, end_date=TODAY, **kwargs)


def api_shape(body: Mapping[str, Any]) -> dict[str, Any]:
    """A sandbox customer as the store keeps it: every field present, null when the
    sandbox left it out (the API's JSON shape), nested objects likewise."""
    shaped: dict[str, Any] = {}
    for field in CUSTOMER_FIELDS:
        value = body.get(field)
        if field in _NESTED and isinstance(value, dict):
            value = {sub: value.get(sub) for sub in _NESTED[field]}
        shaped[field] = value
    return shaped


def truth(records: SandboxRecords) -> dict[int, dict[str, Any]]:
    """Every customer the sandbox serves, by id, in the store's shape."""
    return {record.id: api_shape(record.body) for record in records}


async def until(condition: Callable[[], bool], *, within: float = 30.0) -> None:
    """Wait until ``condition()`` holds; fail after ``within`` seconds."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still not true after {within} s")
