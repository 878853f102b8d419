"""A store that fails: no customer value in any message, one line on the command line."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from indica_async import AsyncIndicaClient, AuthenticationError
from indica_async.sandbox import Sandbox
from indica_async.sync import Store, sync

from ._cli import assert_clean, run
from ._world import SINCE, TODAY, config


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(config(40)) as running:
        yield running


async def test_a_failed_write_never_carries_a_customer_value(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    db = str(tmp_path / "store.sqlite")
    async with AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url) as client:
        async with Store(db) as store:
            await sync(client, store, "shop", since=SINCE, today=TODAY)
        with sqlite3.connect(db) as raw:
            raw.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON staging "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        raw.close()
        async with Store(db) as store:
            with pytest.raises(SQLAlchemyError) as caught:
                await sync(client, store, "shop", full=True, today=TODAY)
            [_, failed] = await store.runs("shop")
    assert failed.outcome == "failed" and failed.error and "refused" in failed.error
    values = {
        str(value)
        for record in sandbox.records
        for key, value in record.body.items()
        if key in ("email", "phone", "first_name", "last_name") and value
    }
    assert values
    for text in (str(caught.value), failed.error):
        assert not [value for value in values if value in text], text


async def test_a_store_with_damaged_pages_is_one_error_line(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    db = tmp_path / "store.sqlite"
    code, _, err = await run(sandbox, "customers", "sync", "--db", str(db), "--since", "60d")
    assert code == 0, err
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    # The header (page 1's first 100 bytes) stays valid; every later page is garbage.
    data[page:] = b"\xa5" * (len(data) - page)
    db.write_bytes(bytes(data))
    for args in (["customers", "sync", "--db", str(db)], ["customers", "changes", "--db", str(db)]):
        code, out, err = await run(sandbox, *args)
        assert (code, out) == (1, ""), err
        assert_clean(err)
        [line] = err.splitlines()
        assert line.startswith("indica-async: error: the store failed: "), line


async def test_outputs_that_cannot_be_written_are_one_error_line(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    db = str(tmp_path / "store.sqlite")
    code, _, err = await run(sandbox, "customers", "sync", "--db", db, "--since", "60d")
    assert code == 0, err
    nowhere = str(tmp_path / "nodir" / "out")
    cases = [
        ["customers", "changes", "--db", db, "--output", nowhere],
        ["customers", "report", "--db", db, "--output", nowhere],
        ["customers", "report", "--db", db, "-o", str(tmp_path / "r.html"), "--json", nowhere],
    ]
    for args in cases:
        code, out, err = await run(sandbox, *args)
        assert (code, out) == (1, ""), err
        assert_clean(err)
        [line] = err.splitlines()
        assert line == f"indica-async: error: cannot write {nowhere}: no such file or directory"
    # Nothing half-written is left: not the page whose JSON could not be written either.
    assert sorted(os.listdir(tmp_path)) == ["store.sqlite"]


async def test_an_account_whose_only_run_failed_is_unknown_to_the_report(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    db, page = str(tmp_path / "store.sqlite"), tmp_path / "r.html"
    async with (
        AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url) as client,
        AsyncIndicaClient("not-the-key", base_url=sandbox.base_url) as wrong,
        Store(db) as store,
    ):
        await sync(client, store, "shop", since=SINCE, today=TODAY)
        with pytest.raises(AuthenticationError):
            await sync(wrong, store, "shpo", since=SINCE, today=TODAY)
        [failed] = await store.runs("shpo")  # the failure is kept, with its error
        assert failed.outcome == "failed"

    code, out, err = await run(
        sandbox, "customers", "report", "--db", db, "--account", "shpo", "-o", str(page)
    )

    assert (code, out) == (1, ""), err
    assert err == ("indica-async: error: no account named 'shpo' in the store (it holds: shop)\n")
    assert not page.exists()


async def test_changes_quiet_prints_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    db, target = str(tmp_path / "store.sqlite"), tmp_path / "changes.jsonl"
    code, _, err = await run(sandbox, "customers", "sync", "--db", db, "--since", "60d")
    assert code == 0, err

    loud = await run(sandbox, "customers", "changes", "--db", db, "-o", str(target))
    quiet = await run(sandbox, "customers", "changes", "--db", db, "-o", str(target), "-q")

    assert loud[0] == 0 and loud[2].startswith(f"indica-async: 40 changes written to {target}")
    assert quiet == (0, "", "")
    assert len(target.read_text().splitlines()) == 40
