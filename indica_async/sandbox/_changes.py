"""Change the sandbox's customers between two sync runs: add, change, delete.

``SandboxRecords`` is immutable, so each function returns new records; hand them to a
running sandbox with `Sandbox.set_records`. A deleted customer is simply absent: the
list no longer returns it and ``GET /customers/{id}`` answers 404, as the API does::

    changed = mutate(sandbox.records, add=5, change=3, delete=2, day=date.today())
    sandbox.set_records(changed.records)
    changed.added, changed.changed, changed.deleted   # the ground truth of the change
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

import attrs
import orjson

from ._config import SandboxConfig
from ._data import generate_customers
from ._records import RecordsBuilder, SandboxRecord, SandboxRecords

__all__ = [
    "SandboxChanges",
    "add_customers",
    "change_customers",
    "delete_customers",
    "mutate",
]


@attrs.frozen
class SandboxChanges:
    """What `mutate` did: the new records, and the ids and fields it touched."""

    records: SandboxRecords
    added: tuple[int, ...]
    #: Customer id -> the changed field names (``object.field`` inside nested objects).
    changed: Mapping[int, tuple[str, ...]]
    deleted: tuple[int, ...]


def _merge(
    records: SandboxRecords,
    extra: Iterable[SandboxRecord],
    *,
    skip: frozenset[int] | set[int] = frozenset(),
) -> SandboxRecords:
    # Both inputs in (created, id) order: one pass, one record built at a time.
    builder = RecordsBuilder()

    def key(record: SandboxRecord) -> tuple[int, int]:
        return record.created.toordinal(), record.id

    def stream() -> Iterator[SandboxRecord]:
        pending = sorted(extra, key=key)
        position = 0
        for record in records:
            while position < len(pending) and key(pending[position]) < key(record):
                yield pending[position]
                position += 1
            yield record
        yield from pending[position:]

    for record in stream():
        if record.id in skip:
            continue
        builder.add(record.created.toordinal(), record.id, record.state_id, record.raw)
    merged = builder.build()
    merged.index_of_id(0)  # builds the index now: raises ValueError on a duplicate id
    return merged


def add_customers(
    records: SandboxRecords, count: int, *, day: date, seed: int = 0
) -> tuple[SandboxRecords, tuple[int, ...]]:
    """``count`` new customers created on ``day``, with ids above every existing one."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    fresh = generate_customers(
        SandboxConfig(customers=count, start_date=day, end_date=day, seed=seed)
    )
    next_id = max(records.ids, default=0) + 1
    added: list[SandboxRecord] = []
    for offset, record in enumerate(fresh):
        body = record.body
        body["id"] = next_id + offset
        if body.get("state_id") is not None:
            # Unique by construction: the generator's ids (and so its state ids) restart.
            body["state_id"] = f"NEW{next_id + offset:09d}"
        added.append(SandboxRecord.from_body(day, body))
    return _merge(records, added), tuple(record.id for record in added)


def change_customers(
    records: SandboxRecords, updates: Mapping[int, Mapping[str, Any]]
) -> SandboxRecords:
    """Apply ``updates`` (customer id -> fields to set) and return the new records.

    A nested object given as a mapping is merged into the customer's, so
    ``{"address": {"city": "Fresno"}}`` changes the city only.
    """
    builder = RecordsBuilder()
    missing = set(updates)
    for record in records:
        raw = record.raw
        update = updates.get(record.id)
        if update is not None:
            missing.discard(record.id)
            body = record.body
            for field, value in update.items():
                if field == "id":
                    raise ValueError("a customer's id cannot change")
                current = body.get(field)
                if isinstance(value, Mapping) and isinstance(current, dict):
                    body[field] = {**current, **value}
                else:
                    body[field] = value
            raw = orjson.dumps(body)
            state_id = body.get("state_id")
            record = attrs.evolve(record, state_id=state_id if isinstance(state_id, str) else None)
        builder.add(record.created.toordinal(), record.id, record.state_id, raw)
    if missing:
        raise KeyError(f"no such customers: {sorted(missing)}")
    changed = builder.build()
    changed.index_of_id(0)
    return changed


def delete_customers(records: SandboxRecords, ids: Iterable[int]) -> SandboxRecords:
    """The records without the customers ``ids`` (each must exist)."""
    gone = set(ids)
    unknown = [customer_id for customer_id in gone if records.index_of_id(customer_id) is None]
    if unknown:
        raise KeyError(f"no such customers: {sorted(unknown)}")
    return _merge(records, (), skip=gone)


def _changed_values(rand: random.Random, body: Mapping[str, Any]) -> dict[str, Any]:
    # Values that certainly differ from the current ones, so every change is visible.
    serial = rand.randrange(10**6)
    update: dict[str, Any] = {"email": f"changed.{serial}.{body['id']}@example.org"}
    if rand.random() < 0.5:
        update["text_messages_allowed"] = not body.get("text_messages_allowed")
    if rand.random() < 0.5:
        address = body.get("address")
        city = (
            "Eureka" if isinstance(address, dict) and address.get("city") != "Eureka" else "Ukiah"
        )
        update["address"] = {"city": city}
    return update


def _field_names(update: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    for field, value in update.items():
        if isinstance(value, Mapping) and isinstance(body.get(field), dict):
            names.extend(f"{field}.{sub}" for sub in value)
        else:
            names.append(field)
    return tuple(sorted(names))


def mutate(
    records: SandboxRecords,
    *,
    add: int = 0,
    change: int = 0,
    delete: int = 0,
    day: date,
    before: date | None = None,
    seed: int = 0,
) -> SandboxChanges:
    """Add ``add`` customers created on ``day``; change ``change`` and delete ``delete``
    existing ones, picked at random (seeded) among those created before ``before``
    (default: all). Returns the new records and exactly what changed."""
    rand = random.Random(f"indica-sandbox:{seed}:changes")
    eligible = [record.id for record in records if before is None or record.created < before]
    if change + delete > len(eligible):
        raise ValueError(f"only {len(eligible)} customers to change or delete")
    picked = rand.sample(eligible, change + delete)
    to_change, to_delete = picked[:change], picked[change:]
    updates: dict[int, dict[str, Any]] = {}
    fields: dict[int, tuple[str, ...]] = {}
    for customer_id in to_change:
        index = records.index_of_id(customer_id)
        assert index is not None
        body = records[index].body
        updates[customer_id] = _changed_values(rand, body)
        fields[customer_id] = _field_names(updates[customer_id], body)
    changed = change_customers(records, updates) if updates else records
    if to_delete:
        changed = delete_customers(changed, to_delete)
    changed, added = add_customers(changed, add, day=day, seed=seed) if add else (changed, ())
    return SandboxChanges(
        records=changed, added=added, changed=fields, deleted=tuple(sorted(to_delete))
    )
