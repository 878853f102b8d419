"""kill -9 at random moments of a full run: the store stays exactly as before it, and
the next run completes the work. On both backends."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

from sqlalchemy import select

from indica_async import AsyncIndicaClient
from indica_async.sandbox import Sandbox, mutate
from indica_async.sync import Store, sync
from indica_async.sync._schema import metadata

from ._cli import run, start
from ._world import OLD, SINCE, TODAY, config, truth, until

KILLS = 3


async def snapshot(target: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, after the store's own check."""
    async with Store(target) as store:
        assert await store.check() == []
        tables: dict[str, list[tuple[Any, ...]]] = {}
        async with store.read() as connection:
            for table in metadata.sorted_tables:
                rows = await connection.execute(select(table).order_by(*table.primary_key))
                tables[table.name] = [tuple(row) for row in rows]
        return tables


async def test_kill_9_anywhere_in_a_full_run_leaves_the_store_as_before(
    store_target: str,
) -> None:
    rand = random.Random()
    async with Sandbox(config(400, latency=0.01)) as sandbox:
        async with (
            AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url) as client,
            Store(store_target) as store,
        ):
            await sync(client, store, "default", since=SINCE, today=TODAY)
        changed = mutate(sandbox.records, add=9, change=6, delete=5, day=TODAY, before=OLD, seed=4)
        sandbox.set_records(changed.records)
        before = await snapshot(store_target)
        assert before["staging"] == [] and len(before["customers"]) == 400

        args = ("customers", "sync", "--db", store_target, "--full", "-q", "--limit", "10")
        args += ("--concurrency", "2")
        kills = 0
        for _ in range(KILLS):
            requests = sandbox.stats.requests
            process = await start(sandbox, *args)
            # Somewhere in the walk (about 50 list requests), or after its last request,
            # while diffing, confirming deletions or committing.
            aim = requests + rand.randint(1, 60)

            def reached(aim: int = aim, process: Any = process) -> bool:
                return sandbox.stats.requests >= aim or process.returncode is not None

            # Fewer requests than aimed at: kill it in whatever phase it is then.
            with contextlib.suppress(AssertionError):
                await until(reached, within=60)
            await asyncio.sleep(rand.uniform(0, 0.3))
            if process.returncode is None:
                process.kill()
                kills += 1
            await process.wait()
            after = await snapshot(store_target)
            if process.returncode == 0 or len(after["runs"]) > len(before["runs"]):
                # It committed before the kill landed (or finished): the run is whole.
                outcome = metadata.tables["runs"].c.keys().index("outcome")
                assert [run[outcome] for run in after["runs"]] == ["completed", "completed"]
                break
            assert process.returncode == -9
            assert after == before
        assert kills >= 1

        code, _, err = await run(sandbox, *args)
        assert code == 0, err

    async with Store(store_target) as store:
        assert await store.check() == []
        assert await store.customers("default") == truth(changed.records)
        runs = await store.runs("default")
        assert [r.outcome for r in runs] == ["completed"] * len(runs)
        full = runs[1]
        assert (full.mode, full.new, full.changed, full.deleted) == ("full", 9, 6, 5)
        kinds: dict[str, set[int]] = {}
        async for change in store.changes("default", run=full.id):
            kinds.setdefault(change.kind, set()).add(change.customer_id)
    assert kinds == {
        "new": set(changed.added),
        "changed": set(changed.changed),
        "deleted": set(changed.deleted),
    }
