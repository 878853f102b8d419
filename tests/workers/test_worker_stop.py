"""A worker asked to stop finishes its runs, and nobody takes them for a dead worker's."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import asyncpg
import pytest
from _sync_world import SINCE, config, truth

from indica_async.sandbox import MultiAccountSandbox
from indica_async.sync import Store


@pytest.fixture
async def slow_sandbox() -> AsyncIterator[MultiAccountSandbox]:
    # 1.5 s a response: the run lasts several seconds, longer than --stalled-after.
    async with MultiAccountSandbox({"slow-key": config(40, seed=1, latency=1.5)}) as running:
        yield running


def _log_file(path: Path) -> BinaryIO:
    return open(path, "wb")


async def _worker(env: dict[str, str], db: list[str], log: Path) -> asyncio.subprocess.Process:
    with _log_file(log) as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-W",
            "default",
            "-m",
            "indica_async",
            "accounts",
            "worker",
            *db,
            "--heartbeat",
            "0.3",
            # Ten heartbeats: a loaded machine delays one now and then.
            "--stalled-after",
            "3",
            env=env,
            stderr=stderr,
        )


@pytest.mark.timeout(120)
async def test_a_stopping_worker_keeps_its_job_until_the_run_ends(
    slow_sandbox: MultiAccountSandbox, postgres_database: str, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        f'[accounts.slow]\nsince = "{SINCE}"\napi_key = "slow-key"\n'
        f'base_url = "{slow_sandbox.base_url}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDICA_")}
    db = ["--db", postgres_database, "--accounts", str(accounts)]
    enqueue = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "indica_async", "accounts", "sync-all", "-q", *db, env=env
    )
    assert await enqueue.wait() == 0

    stopping = await _worker(env, db, tmp_path / "stopping.log")
    sweeping: asyncio.subprocess.Process | None = None
    connection = await asyncpg.connect(postgres_database)
    try:
        for _ in range(600):
            if await connection.fetchval(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
            ):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the job never started")
        # A second worker, whose sweeper would take the job if it looked dead.
        sweeping = await _worker(env, db, tmp_path / "sweeping.log")
        stopping.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(stopping.wait(), 60) == 0
        sweeping.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(sweeping.wait(), 60) == 0
        statuses = await connection.fetch("SELECT status FROM procrastinate_jobs")
    finally:
        await connection.close()
        for process in (stopping, sweeping):
            if process is not None and process.returncode is None:
                process.kill()

    logs = (tmp_path / "stopping.log").read_text() + (tmp_path / "sweeping.log").read_text()
    assert "queued again" not in logs, logs
    assert "account slow: run 1 (first)" in logs, logs
    # The job succeeded (and was deleted); none waits to run again.
    assert statuses == []
    async with Store(postgres_database) as store:
        runs = await store.runs("slow")
        assert [(run.outcome, run.mode) for run in runs] == [("completed", "first")]
        assert runs[0].finished_at is not None
        assert (runs[0].finished_at - runs[0].started_at).total_seconds() > 3
        assert await store.customers("slow") == truth(slow_sandbox.accounts["slow-key"].records)
