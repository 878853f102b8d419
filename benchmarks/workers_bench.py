"""``python -m benchmarks.workers_bench``: accounts synced per minute by 1, 2 and 4 workers.

Each measurement: a fresh database on a throwaway PostgreSQL server (``initdb`` and
``pg_ctl`` from PATH, or ``--db-server postgresql://...``), a multi-account sandbox in
its own process, ``accounts sync-all`` for every account, then N ``accounts worker``
processes until the queue is empty. Throughput is read from the store's ``runs`` table:
accounts / (last run finished - first run started), so process start-up is left out
(it is reported apart). Two scenarios:

- ``latency``: every response waits ``--latency`` seconds (an API far away): the
  workers mostly wait, and throughput grows with workers x concurrency.
- ``cpu``: no latency and larger accounts: the work is parsing, diffing and writing,
  and once the machine's cores are busy more workers stop helping.

The figures go to stdout as Markdown; progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

_TODAY = dt.date.today()
_SINCE = _TODAY - dt.timedelta(days=120)


@dataclass(frozen=True)
class Scenario:
    name: str
    accounts: int
    customers: int
    latency: float
    concurrency: int


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- a throwaway PostgreSQL server ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise SystemExit("no initdb/pg_ctl on PATH: pass --db-server postgresql://...")
    base = tempfile.mkdtemp(prefix="indica-workers-bench-")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(base, "data"), _free_port()
    subprocess.run(
        [*as_user, initdb, "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=200"
    subprocess.run(
        [*as_user, pg_ctl, "-D", data, "-l", f"{base}/log", "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


# --- the sandbox, in a process of its own ----------------------------------------------


def _key(n: int) -> str:
    return f"bench-key-{n:05d}"


async def _serve_sandbox(accounts: int, customers: int, latency: float) -> None:
    from indica_async.sandbox import MultiAccountSandbox, SandboxConfig

    configs = {
        _key(n): SandboxConfig(
            customers=customers, seed=n, start_date=_SINCE, end_date=_TODAY, latency=latency
        )
        for n in range(accounts)
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with MultiAccountSandbox(configs) as sandbox:
        print(sandbox.base_url, flush=True)
        await stop.wait()


@contextlib.contextmanager
def _sandbox(scenario: Scenario) -> Iterator[str]:
    args = [str(scenario.accounts), str(scenario.customers), str(scenario.latency)]
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.workers_bench", "--serve-sandbox", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


# --- one measurement --------------------------------------------------------------------


def _accounts_file(path: str, scenario: Scenario, base_url: str) -> None:
    lines = ["[defaults]", f'since = "{_SINCE}"', f'base_url = "{base_url}"', ""]
    for n in range(scenario.accounts):
        lines += [f'[accounts."acct-{n:05d}"]', f'api_key = "{_key(n)}"', ""]
    with open(path, "w") as file:
        file.write("\n".join(lines))


def _cli(*args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "indica_async", *args]
    process: subprocess.Popen[bytes] = subprocess.Popen(command, **kwargs)  # type: ignore[call-overload]
    return process


async def _figures(db: str) -> tuple[int, float]:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(db)
    try:
        row = await connection.fetchrow(
            "SELECT count(DISTINCT account_id) AS n, "
            "extract(epoch FROM max(finished_at) - min(started_at)) AS seconds "
            "FROM runs WHERE outcome = 'completed'"
        )
    finally:
        await connection.close()
    assert row is not None
    return int(row["n"]), float(row["seconds"])


def measure(server: str, scenario: Scenario, workers: int, tag: int) -> dict[str, float]:
    import asyncpg

    name = f"bench_{os.getpid()}_{tag}"

    async def create() -> None:
        connection = await asyncpg.connect(server + "/postgres")
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()

    asyncio.run(create())
    db = f"{server}/{name}"
    with _sandbox(scenario) as base_url, tempfile.TemporaryDirectory() as tmp:
        accounts = os.path.join(tmp, "accounts.toml")
        _accounts_file(accounts, scenario, base_url)
        common = ["--db", db, "--accounts", accounts]
        subprocess.run(
            [sys.executable, "-m", "indica_async", "accounts", "sync-all", *common, "-q"],
            check=True,
        )
        load_before = os.getloadavg()[0]
        before = os.times()
        children_cpu = before.children_user + before.children_system
        started = time.monotonic()
        processes = [
            _cli(
                "accounts",
                "worker",
                *common,
                "--concurrency",
                str(scenario.concurrency),
                "--until-empty",
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        for process in processes:
            process.wait(600)
        wall = time.monotonic() - started
        after = os.times()
        cpu = after.children_user + after.children_system - children_cpu
        done, seconds = asyncio.run(_figures(db))
    if done != scenario.accounts:
        raise SystemExit(f"only {done} of {scenario.accounts} accounts synced")
    return {
        "per_minute": done / seconds * 60,
        "seconds": seconds,
        "wall": wall,
        "cpu": cpu,
        "load": load_before,
    }


SCENARIOS = {
    "latency": Scenario("latency", accounts=48, customers=150, latency=0.25, concurrency=4),
    "cpu": Scenario("cpu", accounts=32, customers=1500, latency=0.0, concurrency=4),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve-sandbox", nargs=3, metavar=("ACCOUNTS", "CUSTOMERS", "LATENCY"))
    parser.add_argument("--db-server", metavar="URL", help="a server to create databases on")
    parser.add_argument("--workers", default="1,2,4", help="worker counts (default 1,2,4)")
    parser.add_argument("--only", default="latency,cpu", help="scenarios: latency,cpu")
    options = parser.parse_args()
    if options.serve_sandbox:
        accounts, customers, latency = options.serve_sandbox
        asyncio.run(_serve_sandbox(int(accounts), int(customers), float(latency)))
        return
    counts = [int(n) for n in options.workers.split(",")]
    with contextlib.ExitStack() as stack:
        server = options.db_server or stack.enter_context(_postgres())
        print(f"Load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
        tag = 0
        for key in options.only.split(","):
            scenario = SCENARIOS[key]
            print(
                f"### {scenario.name}: {scenario.accounts} accounts of {scenario.customers} "
                f"customers, {scenario.latency * 1000:.0f} ms a response, "
                f"concurrency {scenario.concurrency} a worker\n"
            )
            print(
                "| workers | accounts/min | sync span s | wall s (with start-up) "
                "| worker CPU s | load avg before |"
            )
            print("|---|---|---|---|---|---|")
            for workers in counts:
                tag += 1
                _log(f"{scenario.name}: {workers} worker(s)...")
                figures = measure(server, scenario, workers, tag)
                print(
                    f"| {workers} | {figures['per_minute']:.0f} | {figures['seconds']:.1f} "
                    f"| {figures['wall']:.1f} | {figures['cpu']:.1f} | {figures['load']:.2f} |",
                    flush=True,
                )
            print()


if __name__ == "__main__":
    main()
