"""Sync runs through the public API, on SQLite and on PostgreSQL, against the sandbox."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from indica_async import AsyncIndicaClient, WindowOverflowError
from indica_async.sandbox import Sandbox, SandboxConfig, SandboxRecord, SandboxRecords, mutate
from indica_async.sync import RunInProgressError, Store, StoreError, sync

from ._world import OLD, SINCE, TODAY, config, truth, until


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(config(300)) as running:
        yield running


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[AsyncIndicaClient]:
    async with AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url) as running:
        yield running


@pytest.fixture
async def store(store_target: str) -> AsyncIterator[Store]:
    async with Store(store_target) as opened:
        yield opened


async def _changes(store: Store, account: str, run: int) -> dict[str, dict[int, tuple[str, ...]]]:
    kinds: dict[str, dict[int, tuple[str, ...]]] = {}
    async for change in store.changes(account, run=run):
        assert change.customer_id not in kinds.setdefault(change.kind, {})
        kinds[change.kind][change.customer_id] = change.fields
    return kinds


async def test_first_run_stores_exactly_the_sandbox(
    sandbox: Sandbox, client: AsyncIndicaClient, store: Store
) -> None:
    report = await sync(client, store, "shop", since=SINCE, today=TODAY)

    assert (report.mode, report.start_date, report.end_date) == ("first", SINCE, TODAY)
    assert report.new == report.listed == len(sandbox.records) == 300
    assert (report.changed, report.deleted, report.unchanged) == (0, 0, 0)
    assert report.requests == sandbox.stats.requests
    assert await store.customers("shop") == truth(sandbox.records)
    changes = await _changes(store, "shop", report.run_id)
    assert set(changes) == {"new"}
    assert set(changes["new"]) == set(sandbox.records.ids)
    [run] = await store.runs("shop")
    assert (run.outcome, run.new, run.listed, run.requests) == (
        "completed",
        300,
        300,
        report.requests,
    )


async def test_incremental_then_full_report_exactly_what_changed(
    sandbox: Sandbox, client: AsyncIndicaClient, store: Store
) -> None:
    await sync(client, store, "shop", since=SINCE, today=TODAY)
    changed = mutate(sandbox.records, add=7, change=5, delete=4, day=TODAY, before=OLD, seed=3)
    sandbox.set_records(changed.records)
    requests_before = sandbox.stats.requests

    incremental = await sync(client, store, "shop", today=TODAY)

    assert incremental.mode == "incremental"
    assert incremental.start_date == TODAY - dt.timedelta(days=2)
    assert (incremental.new, incremental.changed, incremental.deleted) == (7, 0, 0)
    assert (await _changes(store, "shop", incremental.run_id)) == {
        "new": dict.fromkeys(changed.added, ())
    }
    # Only the last days are walked: the requests a plain walk of them takes, no more.
    assert sandbox.stats.requests - requests_before == incremental.requests
    walked = sandbox.stats.requests
    async for _ in client.customers.pages(start_date=incremental.start_date, end_date=TODAY):
        pass
    assert incremental.requests == sandbox.stats.requests - walked

    full = await sync(client, store, "shop", full=True, today=TODAY)

    assert full.mode == "full" and full.start_date == SINCE
    assert (full.new, full.changed, full.deleted, full.missing, full.restored) == (0, 5, 4, 0, 0)
    assert full.unchanged == len(changed.records) - 5
    assert await _changes(store, "shop", full.run_id) == {
        "changed": dict(changed.changed),
        "deleted": dict.fromkeys(changed.deleted, ()),
    }
    assert await store.customers("shop") == truth(changed.records)
    statuses = await store.statuses("shop")
    assert {i for i, status in statuses.items() if status == "deleted"} == set(changed.deleted)

    # The values before and after are those of the changed fields only.
    async for change in store.changes("shop", run=full.run_id):
        if change.kind == "changed":
            assert change.after is not None and change.before is not None
            assert set(change.after) == set(change.before) == set(change.fields)
            assert change.after["email"].startswith("changed.")
            assert change.before["email"] != change.after["email"]

    again = await sync(client, store, "shop", full=True, today=TODAY)
    assert (again.new, again.changed, again.deleted, again.unchanged) == (0, 0, 0, full.listed)
    assert await _changes(store, "shop", again.run_id) == {}


async def test_a_customer_listed_again_is_restored_not_new(
    sandbox: Sandbox, client: AsyncIndicaClient, store: Store
) -> None:
    original = sandbox.records
    await sync(client, store, "shop", since=SINCE, today=TODAY)
    removed = mutate(original, delete=2, day=TODAY, before=OLD, seed=5)
    sandbox.set_records(removed.records)
    await sync(client, store, "shop", full=True, today=TODAY)

    sandbox.set_records(original)
    back = await sync(client, store, "shop", full=True, today=TODAY)

    assert (back.new, back.restored, back.deleted) == (0, 2, 0)
    assert await _changes(store, "shop", back.run_id) == {
        "restored": dict.fromkeys(removed.deleted, ())
    }
    assert await store.customers("shop") == truth(original)


async def test_without_lookups_unlisted_customers_are_missing_until_confirmed(
    sandbox: Sandbox, client: AsyncIndicaClient, store: Store
) -> None:
    await sync(client, store, "shop", since=SINCE, today=TODAY)
    removed = mutate(sandbox.records, delete=12, day=TODAY, before=OLD, seed=8)
    basic = SandboxConfig(plan="basic", api_key=sandbox.api_key)
    async with (
        Sandbox(basic, records=removed.records) as lookups_forbidden,
        AsyncIndicaClient(sandbox.api_key, base_url=lookups_forbidden.base_url) as basic_client,
    ):
        first = await sync(basic_client, store, "shop", full=True, today=TODAY)
        # After a 403 the others are not asked: only the lookups already in flight.
        assert 1 <= lookups_forbidden.stats.by_endpoint["get"] <= 8
        second = await sync(basic_client, store, "shop", full=True, today=TODAY)

    assert (first.deleted, first.missing) == (0, 12)
    assert await _changes(store, "shop", first.run_id) == {
        "missing": dict.fromkeys(removed.deleted, ())
    }
    # Still unconfirmed: not reported twice.
    assert (second.deleted, second.missing) == (0, 0)
    statuses = await store.statuses("shop")
    assert sorted(i for i, s in statuses.items() if s == "missing") == list(removed.deleted)

    # On a plan with lookups, the 404s confirm the deletions.
    sandbox.set_records(removed.records)
    confirmed = await sync(client, store, "shop", full=True, today=TODAY)
    assert (confirmed.deleted, confirmed.missing) == (12, 0)
    assert await _changes(store, "shop", confirmed.run_id) == {
        "deleted": dict.fromkeys(removed.deleted, ())
    }


async def test_a_missing_customer_found_by_lookup_is_restored(
    sandbox: Sandbox, client: AsyncIndicaClient, store: Store
) -> None:
    original = sandbox.records
    await sync(client, store, "shop", since=SINCE, today=TODAY)
    removed = mutate(original, delete=2, day=TODAY, before=OLD, seed=4)
    basic = SandboxConfig(plan="basic", api_key=sandbox.api_key)
    async with (
        Sandbox(basic, records=removed.records) as lookups_forbidden,
        AsyncIndicaClient(sandbox.api_key, base_url=lookups_forbidden.base_url) as basic_client,
    ):
        gone = await sync(basic_client, store, "shop", full=True, today=TODAY)
    assert gone.missing == 2
    same, edited = removed.deleted
    # Both exist again, but created before the account's range: no walk lists them, a
    # lookup finds them. One as it was, one with another email.
    moved = []
    for record in original:
        if record.id in (same, edited):
            body = record.body
            if record.id == edited:
                body = {**body, "email": "found.again@example.com"}
            record = SandboxRecord.from_body(SINCE - dt.timedelta(days=5), body)
        moved.append(record)
    found = SandboxRecords.from_records(sorted(moved, key=lambda r: (r.created, r.id)))
    sandbox.set_records(found)

    back = await sync(client, store, "shop", full=True, today=TODAY)

    assert (back.restored, back.changed, back.missing, back.deleted) == (2, 0, 0, 0)
    changes = [change async for change in store.changes("shop", run=back.run_id)]
    assert {(c.customer_id, c.kind, c.fields) for c in changes} == {
        (same, "restored", ()),
        (edited, "restored", ("email",)),
    }
    [edit] = [c for c in changes if c.customer_id == edited]
    assert edit.after == {"email": "found.again@example.com"}
    statuses = await store.statuses("shop")
    assert (statuses[same], statuses[edited]) == ("active", "active")
    assert await store.customers("shop") == truth(found)
    again = await sync(client, store, "shop", full=True, today=TODAY)
    assert (again.restored, again.changed, again.missing) == (0, 0, 0)


async def test_accounts_never_see_each_other(
    sandbox: Sandbox, client: AsyncIndicaClient, store: Store
) -> None:
    async with (
        Sandbox(config(120, seed=9, api_key="other-key")) as other,
        AsyncIndicaClient(other.api_key, base_url=other.base_url) as other_client,
    ):
        await sync(client, store, "north", since=SINCE, today=TODAY)
        await sync(other_client, store, "south", since=SINCE, today=TODAY)
        changed = mutate(other.records, change=3, delete=2, day=TODAY, before=OLD, seed=1)
        other.set_records(changed.records)
        south = await sync(other_client, store, "south", full=True, today=TODAY)
        north = await sync(client, store, "north", full=True, today=TODAY)

    assert [account.name for account in await store.accounts()] == ["north", "south"]
    assert await store.customers("north") == truth(sandbox.records)
    assert await store.customers("south") == truth(changed.records)
    assert (north.changed, north.deleted, south.changed, south.deleted) == (0, 0, 3, 2)
    north_changes = [change async for change in store.changes("north")]
    assert {change.kind for change in north_changes} == {"new"}
    assert {change.run for change in north_changes} == {1}
    assert len(north_changes) == 300
    # The run ids are the store's; asking one account for another's run finds nothing.
    assert [change async for change in store.changes("north", run=south.run_id)] == []


async def test_a_failed_run_leaves_the_store_as_it_was_and_is_recorded(
    sandbox: Sandbox, client: AsyncIndicaClient, store: Store
) -> None:
    await sync(client, store, "shop", since=SINCE, today=TODAY)
    changed = mutate(sandbox.records, add=5, change=5, delete=5, day=TODAY, before=OLD, seed=2)
    before = (await store.customers("shop"), await store.statuses("shop"))
    # Other customers on every day, and one day too crowded for max_limit near the end:
    # the walk stages many pages, then fails with WindowOverflowError.
    crowded = {SINCE + dt.timedelta(days=i): 5 for i in range(50)} | {
        TODAY - dt.timedelta(days=1): 60
    }
    failing = config(api_key=sandbox.api_key, daily_counts=crowded, seed=11)
    async with (
        Sandbox(failing) as overflowing,
        AsyncIndicaClient(sandbox.api_key, base_url=overflowing.base_url) as failing_client,
    ):
        with pytest.raises(WindowOverflowError):
            await sync(
                failing_client,
                store,
                "shop",
                full=True,
                today=TODAY,
                limit=10,
                max_limit=20,
                concurrency=1,
            )
        assert overflowing.stats.requests > 20  # it failed late, with much staged

    assert (await store.customers("shop"), await store.statuses("shop")) == before
    runs = await store.runs("shop")
    assert [(run.mode, run.outcome) for run in runs] == [("first", "completed"), ("full", "failed")]
    assert runs[1].error is not None and "WindowOverflowError" in runs[1].error
    assert [change.run async for change in store.changes("shop", run=runs[1].id)] == []

    # The next run does the whole work.
    sandbox.set_records(changed.records)
    done = await sync(client, store, "shop", full=True, today=TODAY)
    assert (done.new, done.changed, done.deleted) == (5, 5, 5)
    assert await store.customers("shop") == truth(changed.records)


async def test_a_second_run_on_the_account_fails_at_once_or_waits(store_target: str) -> None:
    async with (
        Sandbox(config(200, latency=0.05)) as slow,
        AsyncIndicaClient(slow.api_key, base_url=slow.base_url) as client,
        Store(store_target) as first_store,
        Store(store_target) as second_store,
    ):
        running = asyncio.create_task(
            sync(client, first_store, "shop", since=SINCE, today=TODAY, limit=20, concurrency=1)
        )
        # The lock is taken before the first request.
        await until(lambda: slow.stats.requests > 0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RunInProgressError, match="in progress on account 'shop'"):
            await sync(client, second_store, "shop", since=SINCE, today=TODAY)
        assert loop.time() - started < 5
        assert not running.done()

        waiting = asyncio.create_task(
            sync(client, second_store, "shop", full=True, today=TODAY, wait=True)
        )
        first = await running
        second = await waiting

    assert (first.new, second.new, second.unchanged) == (200, 0, 200)
    runs = await second_store_runs(store_target)
    assert [(run.mode, run.outcome) for run in runs] == [
        ("first", "completed"),
        ("full", "completed"),
    ]
    assert runs[0].finished_at is not None and runs[1].started_at >= runs[0].finished_at


async def second_store_runs(target: str) -> list:  # type: ignore[type-arg]
    async with Store(target) as store:
        return await store.runs("shop")


async def test_the_first_run_needs_since(client: AsyncIndicaClient, store: Store) -> None:
    with pytest.raises(StoreError, match="needs since"):
        await sync(client, store, "shop", today=TODAY)
    assert await store.accounts() == []
