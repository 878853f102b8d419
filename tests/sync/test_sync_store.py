"""Opening stores: foreign and corrupt files are refused untouched; schema versions;
and the pure pieces (field diff, CLI dates, run planning), and the sandbox's changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
from pathlib import Path

import asyncpg
import pytest

import indica_async.sync
from indica_async import AsyncIndicaClient, NotFoundError
from indica_async.sandbox import (
    Sandbox,
    add_customers,
    change_customers,
    generate_customers,
    mutate,
)
from indica_async.sync import ForeignStoreError, Store, StoreError
from indica_async.sync._diff import diff_fields
from indica_async.sync._run import _plan
from indica_async.sync._store import Account

from ._world import OLD, SINCE, TODAY, api_shape, config


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _other_apps_db(path: Path, *, application_id: int = 0) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(f"PRAGMA application_id = {application_id}")
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO customers VALUES (1, 'their data')")
    connection.close()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: p.write_text("name,email\nJane,jane@example.com\n"), id="text"),
        pytest.param(lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\x00" * 20), id="short"),
        pytest.param(_other_apps_db, id="other-sqlite"),
        pytest.param(lambda p: _other_apps_db(p, application_id=0x12345678), id="other-app-id"),
    ],
)
async def test_a_foreign_file_is_refused_and_left_byte_identical(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "customers.sqlite"
    make(path)
    before = _digest(path), sorted(os.listdir(tmp_path))

    with pytest.raises(ForeignStoreError, match="left untouched"):
        async with Store(path):
            pass

    assert (_digest(path), sorted(os.listdir(tmp_path))) == before


async def test_a_store_with_our_id_but_no_marker_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "customers.sqlite"
    _other_apps_db(path, application_id=0x494E4443)
    before = _digest(path)
    with pytest.raises(ForeignStoreError, match="customers"):
        async with Store(path):
            pass
    assert _digest(path) == before


async def test_a_postgresql_database_with_foreign_tables_is_refused(
    postgres_database: str,
) -> None:
    connection = await asyncpg.connect(postgres_database)
    try:
        await connection.execute("CREATE TABLE customers (id int primary key, name text)")
        await connection.execute("INSERT INTO customers VALUES (1, 'their data')")
        with pytest.raises(ForeignStoreError, match="no indica-async marker"):
            async with Store(postgres_database):
                pass
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        assert [row["tablename"] for row in tables] == ["customers"]
        assert await connection.fetchval("SELECT name FROM customers") == "their data"
    finally:
        await connection.close()


async def test_a_store_from_a_newer_version_is_refused(store_target: str) -> None:
    async with Store(store_target) as store, store.write() as connection:
        await connection.exec_driver_sql(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'"
        )
    with pytest.raises(StoreError, match="schema version 99, newer"):
        async with Store(store_target):
            pass


async def test_an_sqlite_store_is_marked_in_its_header(tmp_path: Path) -> None:
    path = tmp_path / "customers.sqlite"
    async with Store(path):
        pass
    header = path.read_bytes()[:100]
    assert header.startswith(b"SQLite format 3\x00")
    assert header[68:72] == b"INDC"
    # 32 KiB pages (a customer's row is about 1.2 KB), and the write-ahead log.
    assert int.from_bytes(header[16:18], "big") == 32_768
    assert header[18:20] == b"\x02\x02"
    async with Store(path) as again:  # and it opens again
        assert await again.accounts() == []


async def test_reading_commands_never_create_a_store(
    tmp_path: Path, postgres_database: str
) -> None:
    with pytest.raises(StoreError, match="no store"):
        async with Store(tmp_path / "absent.sqlite", create=False):
            pass
    assert os.listdir(tmp_path) == []
    with pytest.raises(StoreError, match="no store"):
        async with Store(postgres_database, create=False):
            pass


def test_store_urls_are_checked() -> None:
    with pytest.raises(StoreError, match="unsupported store URL"):
        Store("mysql://localhost/db")
    assert Store("postgresql://u@h/db").backend == "postgresql"
    assert Store("x.sqlite").backend == "sqlite"


# --- pure pieces ---------------------------------------------------------------------


def test_diff_names_nested_fields_and_keeps_only_changed_values() -> None:
    before = {"id": 1, "email": "a@x", "address": {"city": "A", "zip": "1"}, "phone": None}
    after = {"id": 1, "email": "b@x", "address": {"city": "B", "zip": "1"}, "recommendation": {}}
    names, old, new = diff_fields(before, after)
    assert names == ("address.city", "email", "recommendation")
    assert old == {"address.city": "A", "email": "a@x", "recommendation": None}
    assert new == {"address.city": "B", "email": "b@x", "recommendation": {}}
    assert diff_fields(before, dict(before)) == ((), {}, {})
    # A missing field equals null; an object replacing null is one change.
    assert diff_fields({"phone": None}, {}) == ((), {}, {})
    assert diff_fields({"address": None}, {"address": {"city": "C"}})[0] == ("address",)


def test_run_planning() -> None:
    day = dt.date(2026, 1, 10)
    synced = Account(id=1, name="a", since=dt.date(2025, 1, 1), synced_through=dt.date(2026, 1, 8))
    assert _plan(None, since=dt.date(2025, 1, 1), full=False, today=day, overlap_days=2) == (
        "first",
        dt.date(2025, 1, 1),
        day,
    )
    assert _plan(synced, since=None, full=False, today=day, overlap_days=2) == (
        "incremental",
        dt.date(2026, 1, 6),
        day,
    )
    assert _plan(synced, since=None, full=True, today=day, overlap_days=2) == (
        "full",
        dt.date(2025, 1, 1),
        day,
    )
    assert _plan(synced, since=dt.date(2024, 6, 1), full=True, today=day, overlap_days=2)[1] == (
        dt.date(2024, 6, 1)
    )
    with pytest.raises(StoreError, match="needs since"):
        _plan(None, since=None, full=False, today=day, overlap_days=2)


# --- the sandbox's changes -------------------------------------------------------------


async def test_sandbox_changes_are_served_and_deleted_customers_404() -> None:
    records = generate_customers(config(80))
    changed = mutate(records, add=4, change=3, delete=2, day=TODAY, before=OLD, seed=1)
    assert len(changed.records) == 80 + 4 - 2
    order = [(record.created, record.id) for record in changed.records]
    assert order == sorted(order)
    async with (
        Sandbox(config(80)) as sandbox,
        AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url) as client,
    ):
        sandbox.set_records(changed.records)
        listed = {c.id async for c in client.customers.iterate(start_date=SINCE, end_date=TODAY)}
        assert listed == set(changed.records.ids)
        assert set(changed.added) <= listed and not set(changed.deleted) & listed
        for customer_id in changed.deleted:
            with pytest.raises(NotFoundError):
                await client.customers.get(customer_id)
        for customer_id in changed.added:
            assert (await client.customers.get(customer_id)).id == customer_id
    for customer_id, fields in changed.changed.items():
        old = api_shape(records[records.index_of_id(customer_id)].body)  # type: ignore[index]
        index = changed.records.index_of_id(customer_id)
        assert index is not None
        assert diff_fields(old, api_shape(changed.records[index].body))[0] == fields


def test_sandbox_change_helpers_check_their_arguments() -> None:
    records = generate_customers(config(10))
    with pytest.raises(KeyError):
        change_customers(records, {1: {"email": "x"}})
    with pytest.raises(ValueError, match="id"):
        change_customers(records, {records[0].id: {"id": 5}})
    grown, added = add_customers(records, 3, day=TODAY)
    assert len(grown) == 13 and min(added) > max(records.ids)
    assert {grown[grown.index_of_id(i)].created for i in added} == {TODAY}  # type: ignore[index]


def test_the_sync_namespace() -> None:
    names = indica_async.sync.__all__
    assert names == sorted(names, key=lambda name: (not name.isupper(), name))
    for name in names:
        value = getattr(indica_async.sync, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, indica_async.IndicaError)
            assert value.__module__ == "indica_async.sync" and value.__doc__


async def test_forward_migrations_run_in_order_in_one_transaction(
    store_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import inspect, text
    from sqlalchemy.ext.asyncio import AsyncConnection

    from indica_async.sync import _schema

    async with Store(store_target):
        pass  # a version 1 store

    async def add_note(connection: AsyncConnection) -> None:
        await connection.execute(text("ALTER TABLE runs ADD COLUMN note TEXT"))

    async def broken(connection: AsyncConnection) -> None:
        await connection.execute(text("ALTER TABLE runs ADD COLUMN other TEXT"))
        raise RuntimeError("migration 2 failed")

    async def version_and_columns() -> tuple[str, list[str]]:
        async with Store(store_target) as store, store.read() as connection:
            found = await connection.scalar(
                text("SELECT value FROM meta WHERE key = 'schema_version'")
            )
            names = await connection.run_sync(
                lambda sync: [column["name"] for column in inspect(sync).get_columns("runs")]
            )
            return str(found), names

    monkeypatch.setattr(_schema, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(_schema, "MIGRATIONS", {1: add_note, 2: broken})
    with pytest.raises(RuntimeError, match="migration 2 failed"):
        async with Store(store_target):
            pass
    monkeypatch.setattr(_schema, "SCHEMA_VERSION", 1)
    version, columns = await version_and_columns()
    assert version == "1" and "note" not in columns and "other" not in columns

    monkeypatch.setattr(_schema, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(_schema, "MIGRATIONS", {1: add_note})
    version, columns = await version_and_columns()
    assert version == "2" and "note" in columns
