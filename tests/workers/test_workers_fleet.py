"""Fifty sandbox accounts synced by three real worker processes on a real PostgreSQL.

The sandbox serves every account (one key each) in this process; the workers are
``indica-async accounts worker`` subprocesses; the queue and the store share one
database of the sync suite's throwaway server. One worker is killed with SIGKILL while
it holds an account's run open, and every account must still end exact, each customer
recorded new exactly once, no two runs of an account overlapping.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg
import attrs
import psutil
import pytest
from _sync_world import SINCE, TODAY, config, truth

from indica_async import AsyncIndicaClient
from indica_async.sandbox import MultiAccountSandbox
from indica_async.sync import RunInProgressError, Store, sync
from indica_async.sync._dialect import _lock_key
from indica_async.workers import key_variable

ACCOUNTS = 50
WORKERS = 3


def _name(n: int) -> str:
    return f"shop-{n:02d}"


def _key(n: int) -> str:
    return f"key-{n:02d}-secret"


@pytest.fixture
async def sandbox() -> AsyncIterator[MultiAccountSandbox]:
    # Small accounts (20 to 34 customers) answering after 30 ms: a run lasts a few
    # hundred milliseconds, long enough to be caught mid-run.
    accounts = {_key(n): config(20 + n % 15, seed=n, latency=0.03) for n in range(ACCOUNTS)}
    async with MultiAccountSandbox(accounts) as running:
        yield running


def _write_accounts(path: Path, base_url: str) -> dict[str, str]:
    """The accounts file: even accounts keep their key in it, odd ones in the
    environment. Returns the environment the workers need."""
    lines = ["[defaults]", f'since = "{SINCE.isoformat()}"', f'base_url = "{base_url}"', ""]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDICA_")}
    for n in range(ACCOUNTS):
        lines.append(f'[accounts."{_name(n)}"]')
        if n % 2:
            env[key_variable(_name(n))] = _key(n)
        else:
            lines.append(f'api_key = "{_key(n)}"')
        lines.append("")
    path.write_text("\n".join(lines))
    return env


@attrs.define
class _Probe:
    """Samples the queue: how many jobs of each account run at once."""

    samples: int = 0
    busy_samples: int = 0
    most_at_once: Counter[str] = attrs.field(factory=Counter)

    async def watch(self, database: str, stop: asyncio.Event) -> None:
        connection = await asyncpg.connect(database)
        try:
            while not stop.is_set():
                rows = await connection.fetch(
                    "SELECT lock, count(*) AS n FROM procrastinate_jobs "
                    "WHERE status = 'doing' GROUP BY lock"
                )
                self.samples += 1
                self.busy_samples += bool(rows)
                for row in rows:
                    self.most_at_once[row["lock"]] = max(self.most_at_once[row["lock"]], row["n"])
                await asyncio.sleep(0.02)
        finally:
            await connection.close()


def _advisory_key(row: Any) -> int:
    # pg_locks splits a bigint advisory key: classid the high half, objid the low half.
    unsigned = (row["classid"] << 32) | row["objid"]
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


async def _worker_in_a_run(
    connection: asyncpg.Connection, workers: list[asyncio.subprocess.Process]
) -> tuple[asyncio.subprocess.Process, list[str]] | None:
    """A worker process holding an account's sync lock now, and those accounts."""
    names = {_lock_key(_name(n)): _name(n) for n in range(ACCOUNTS)}
    rows = await connection.fetch(
        "SELECT l.classid::int8 AS classid, l.objid::int8 AS objid, a.client_port "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    )
    held: dict[int, list[str]] = {}
    for row in rows:
        account = names.get(_advisory_key(row))
        if account is not None:
            held.setdefault(row["client_port"], []).append(account)
    for process in workers:
        if process.returncode is not None:
            continue
        try:
            found = psutil.Process(process.pid)
            # psutil 6 renamed connections() to net_connections().
            listed = getattr(found, "net_connections", None) or found.connections
            ports = {connection.laddr.port for connection in listed("tcp")}
        except psutil.NoSuchProcess:
            continue
        accounts = [account for port, found in held.items() if port in ports for account in found]
        if accounts:
            return process, accounts
    return None


async def _interlope(base_url: str, db: str, stop: asyncio.Event) -> Counter[str]:
    """Runs started from outside the queue on random accounts, while the workers work:
    each either completes or is refused; none may interleave with a worker's."""
    outcomes: Counter[str] = Counter()
    rng = random.Random(7)
    async with Store(db) as store:
        while not stop.is_set():
            n = rng.randrange(ACCOUNTS)
            async with AsyncIndicaClient(_key(n), base_url=base_url) as client:
                try:
                    await sync(client, store, _name(n), since=SINCE, today=TODAY)
                    outcomes["completed"] += 1
                except RunInProgressError:
                    outcomes["refused"] += 1
            await asyncio.sleep(0.2)
    return outcomes


async def _queue_empty(connection: asyncpg.Connection) -> bool:
    left = await connection.fetchval(
        "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
    )
    return bool(left == 0)


async def _completed_accounts(connection: asyncpg.Connection) -> int:
    return int(
        await connection.fetchval(
            "SELECT count(DISTINCT account_id) FROM runs WHERE outcome = 'completed'"
        )
    )


@pytest.fixture
def processes() -> Iterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    yield started
    for process in started:
        if process.returncode is None:
            process.kill()


def _log_file(path: Path) -> BinaryIO:
    return open(path, "wb")


async def _cli(env: dict[str, str], *args: str, **kwargs: Any) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-W", "default", "-m", "indica_async", *args, env=env, **kwargs
    )


@pytest.mark.timeout(150)
async def test_fifty_accounts_three_workers_one_killed(
    sandbox: MultiAccountSandbox,
    postgres_database: str,
    tmp_path: Path,
    processes: list[asyncio.subprocess.Process],
) -> None:
    accounts_file = tmp_path / "accounts.toml"
    env = _write_accounts(accounts_file, sandbox.base_url)
    db = ["--db", postgres_database, "--accounts", str(accounts_file)]

    enqueue = await _cli(env, "accounts", "sync-all", *db, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(enqueue.communicate(), 60)
    assert enqueue.returncode == 0, err
    assert err.decode() == "indica-async: 50 accounts queued, 0 already in the queue\n"

    logs = [tmp_path / f"worker-{i}.log" for i in range(WORKERS)]
    for i, log in enumerate(logs):
        with _log_file(log) as stderr:
            processes.append(
                await _cli(
                    env,
                    "accounts",
                    "worker",
                    *db,
                    "--concurrency",
                    "4",
                    "--name",
                    f"w{i}",
                    "--heartbeat",
                    "0.5",
                    "--stalled-after",
                    "5",
                    stderr=stderr,
                )
            )

    stop = asyncio.Event()
    probe = _Probe()
    watching = asyncio.create_task(probe.watch(postgres_database, stop))
    interloping: asyncio.Task[Counter[str]] | None = None
    connection = await asyncpg.connect(postgres_database)
    try:
        deadline = asyncio.get_running_loop().time() + 60
        caught = None
        while caught is None:
            assert asyncio.get_running_loop().time() < deadline, "no worker was seen in a run"
            caught = await _worker_in_a_run(connection, processes)
        victim, killed_accounts = caught
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        interloping = asyncio.create_task(_interlope(sandbox.base_url, postgres_database, stop))

        while not (
            await _completed_accounts(connection) == ACCOUNTS and await _queue_empty(connection)
        ):
            assert asyncio.get_running_loop().time() < deadline, (
                f"{await _completed_accounts(connection)} of {ACCOUNTS} accounts synced"
            )
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await connection.close()
        await watching
        outcomes = Counter[str]() if interloping is None else await interloping

    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        await asyncio.wait_for(process.wait(), 30)
    texts = [log.read_text() for log in logs]
    for process, text in zip(processes, texts, strict=True):
        if process is not victim:
            assert process.returncode == 0, text
            for marker in ("Traceback", "Warning", "Unclosed", "Exception ignored", "secret"):
                assert marker not in text, text

    # The worker really died inside a run, and the engine gave its jobs back.
    assert killed_accounts
    requeued = "\n".join(texts)
    for account in killed_accounts:
        assert f"(account {account}) of a dead worker: queued again" in requeued, requeued

    # Never two runs of an account at once: from the queue, and from outside it.
    assert probe.busy_samples >= 5
    assert max(probe.most_at_once.values()) == 1
    assert outcomes["completed"] + outcomes["refused"] >= 3

    async with Store(postgres_database) as store:
        for n in range(ACCOUNTS):
            account = sandbox.accounts[_key(n)]
            assert await store.customers(_name(n)) == truth(account.records), _name(n)
            runs = [run for run in await store.runs(_name(n)) if run.outcome == "completed"]
            assert runs, _name(n)
            spans = sorted((run.started_at, run.finished_at) for run in runs)
            for (_, end), (start, _) in itertools.pairwise(spans):
                assert end is not None and end <= start, (_name(n), spans)
            new = Counter(
                [
                    change.customer_id
                    async for change in store.changes(_name(n))
                    if change.kind == "new"
                ]
            )
            assert set(new) == set(account.records.ids), _name(n)
            assert set(new.values()) == {1}, _name(n)
