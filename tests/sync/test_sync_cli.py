"""``customers sync`` and ``customers changes`` as a user runs them, on both backends."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from indica_async.sandbox import Sandbox, mutate
from indica_async.sync import Store

from ._cli import assert_clean, run, start
from ._world import OLD, TODAY, config, truth, until


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(config(250)) as running:
        yield running


async def test_sync_and_changes_from_the_command_line(
    sandbox: Sandbox, store_target: str, tmp_path: Path
) -> None:
    code, out, err = await run(sandbox, "customers", "sync", "--db", store_target, "--since", "60d")
    assert code == 0, err
    assert_clean(err)
    assert "(first, " in err and "250 new, 0 changed, 0 deleted" in err and "(run 1)" in err
    assert out == ""

    changed = mutate(sandbox.records, add=6, change=4, delete=3, day=TODAY, before=OLD, seed=7)
    sandbox.set_records(changed.records)
    code, _, err = await run(sandbox, "customers", "sync", "--db", store_target)
    assert code == 0, err
    assert "(incremental, " in err and "6 new, 0 changed, 0 deleted" in err

    code, _, err = await run(sandbox, "customers", "sync", "--db", store_target, "--full")
    assert code == 0, err
    assert "(full, " in err and "0 new, 4 changed, 3 deleted, 0 missing, 0 restored" in err
    assert f"{len(changed.records) - 4:,} unchanged" in err

    code, out, err = await run(sandbox, "customers", "changes", "--db", store_target, "--run", "3")
    assert code == 0, err
    records = [orjson.loads(line) for line in out.splitlines()]
    assert {(r["customer_id"], r["kind"], tuple(r["fields"])) for r in records} == {
        *((i, "changed", fields) for i, fields in changed.changed.items()),
        *((i, "deleted", ()) for i in changed.deleted),
    }
    assert {r["run"] for r in records} == {3} and len(records) == 7

    code, out, err = await run(sandbox, "customers", "changes", "--db", store_target, "--run", "2")
    assert [(r["kind"], r["customer_id"]) for r in map(orjson.loads, out.splitlines())] == [
        ("new", i) for i in sorted(changed.added)
    ]

    target = tmp_path / "changes.csv"
    code, out, err = await run(
        sandbox,
        "customers",
        "changes",
        "--db",
        store_target,
        "--since",
        "today",
        "--format",
        "csv",
        "--output",
        str(target),
    )
    assert code == 0, err
    assert out == "" and "263 changes written" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == 250 + 6 + 4 + 3
    one = next(row for row in rows if row["kind"] == "changed")
    assert set(one["fields"].split(";")) == set(orjson.loads(one["before"]))
    assert orjson.loads(one["after"])["email"].startswith("changed.")

    async with Store(store_target) as store:
        assert await store.customers("default") == truth(changed.records)


async def test_command_line_failures_are_one_line_with_export_exit_codes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a database\n")
    cases = [
        (["sync", "--db", str(foreign), "--since", "7d"], 1, "not an SQLite database"),
        (["sync", "--db", str(tmp_path / "a.sqlite")], 1, "needs --since"),
        (["sync", "--db", str(tmp_path / "a.sqlite"), "--since", "someday"], 2, "not a date"),
        (["changes", "--db", str(tmp_path / "none.sqlite")], 1, "no store at"),
        (["changes", "--db", "x.sqlite", "--run", "1", "--since", "1d"], 2, "exclude each other"),
        (["sync", "--db", "mysql://h/db", "--since", "1d"], 1, "unsupported store URL"),
    ]
    results = await asyncio.gather(*(run(sandbox, "customers", *args) for args, _, _ in cases))
    for (_, expected, message), (code, out, err) in zip(cases, results, strict=True):
        assert (code, out) == (expected, ""), err
        assert_clean(err)
        if expected == 2:
            # A usage error is click's own: the usage line, then "Error: ..." naming it.
            assert err.startswith("Usage: "), err
            assert err.splitlines()[-1].startswith("Error: ") and message in err, err
        else:
            [line] = err.splitlines()
            assert line.startswith("indica-async: error: ") and message in line, line
    assert foreign.read_text() == "not a database\n"
    assert os.listdir(tmp_path) == ["notes.txt"]


async def test_two_sync_processes_on_one_account_never_interleave(store_target: str) -> None:
    # About 55 requests of 0.1 s each: the first run outlasts a second process's start.
    async with Sandbox(config(200, latency=0.1)) as slow:
        first = await start(
            slow,
            "customers",
            "sync",
            "--db",
            store_target,
            "--since",
            "60d",
            "--limit",
            "10",
            "--concurrency",
            "1",
        )
        # The run holds its lock before its first request.
        await until(lambda: slow.stats.requests > 0)
        code, _, err = await run(slow, "customers", "sync", "--db", store_target, "--since", "60d")
        assert first.returncode is None  # the first is still running
        assert code == 1, err
        assert "another sync run is in progress on account 'default'" in err

        waiting = await start(slow, "customers", "sync", "--db", store_target, "--full", "--wait")
        _, first_err = await first.communicate()
        _, waiting_err = await waiting.communicate()

    assert first.returncode == 0, first_err.decode()
    assert waiting.returncode == 0, waiting_err.decode()
    assert "200 new" in first_err.decode() and "200 unchanged" in waiting_err.decode()
    async with Store(store_target) as store:
        runs = await store.runs("default")
    assert [(r.mode, r.outcome, r.new) for r in runs] == [
        ("first", "completed", 200),
        ("full", "completed", 0),
    ]
    assert runs[0].finished_at is not None and runs[1].started_at >= runs[0].finished_at
