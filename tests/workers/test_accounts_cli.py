"""``indica-async accounts``: enqueueing as a user runs it, and its refusals."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import asyncpg
from conftest import SilentServer

from indica_async.workers import SYNC_TASK


async def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("INDICA_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "default",
        "-m",
        "indica_async",
        *args,
        env={**base, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def _accounts(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(
        '[defaults]\nsince = "2024-01-01"\n\n'
        '[accounts.one]\napi_key = "k1-secret"\n\n'
        "[accounts.two]\n\n"
        '[accounts.three]\napi_key = "k3-secret"\n'
    )
    return path


async def test_sync_all_queues_each_account_once_and_names_no_key(
    postgres_database: str, tmp_path: Path
) -> None:
    args = ("accounts", "sync-all", "--db", postgres_database)
    # No key for "two" here: enqueueing needs the names alone.
    env = {"INDICA_ACCOUNTS_FILE": str(_accounts(tmp_path))}

    first = await _run(*args, env=env)
    again = await _run(*args, "--full", env=env)

    assert first == (0, "indica-async: 3 accounts queued, 0 already in the queue\n")
    assert again == (0, "indica-async: 0 accounts queued, 3 already in the queue\n")
    connection = await asyncpg.connect(postgres_database)
    try:
        rows = await connection.fetch(
            "SELECT task_name, lock, queueing_lock, args::text AS args, status "
            "FROM procrastinate_jobs ORDER BY id"
        )
    finally:
        await connection.close()
    assert [(r["task_name"], r["lock"], r["status"]) for r in rows] == [
        (SYNC_TASK, f"indica-account:{name}", "todo") for name in ("one", "two", "three")
    ]
    assert all(r["queueing_lock"] is None for r in rows)
    for row in rows:
        assert "secret" not in row["args"]
        assert "k1" not in row["args"]


async def test_refusals_say_what_is_wrong(tmp_path: Path) -> None:
    accounts = str(_accounts(tmp_path))

    no_file = await _run("accounts", "sync-all", "--db", "postgresql://127.0.0.1:9/x")
    path = await _run("accounts", "sync-all", "--db", "s.sqlite", "--accounts", accounts)
    sqlite = await _run(
        "accounts", "sync-all", "--db", "sqlite:///s.sqlite", "--accounts", accounts
    )
    no_key = await _run(
        "accounts", "worker", "--db", "postgresql://127.0.0.1:9/x", "--accounts", accounts
    )

    assert no_file == (
        2,
        "indica-async: error: no accounts file: pass --accounts FILE or set INDICA_ACCOUNTS_FILE\n",
    )
    # A store that cannot be used is status 1, as for customers sync (docs/sync.md).
    assert path == (1, "indica-async: error: workers need a postgresql:// URL for --db\n")
    assert sqlite == (
        1,
        "indica-async: error: workers need a PostgreSQL store (postgresql://...): the queue "
        "lives there too\n",
    )
    assert no_key == (
        2,
        "indica-async: error: account 'two' has no API key: set INDICA_API_KEY__TWO or "
        "api_key in the file\n",
    )


async def test_an_unreachable_database_is_one_line_naming_it(
    silent_server: SilentServer, tmp_path: Path
) -> None:
    accounts = str(_accounts(tmp_path))
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    closed_port = refused.getsockname()[1]
    refused.close()
    env = {"INDICA_API_KEY__TWO": "k2"}
    for command, port in (("sync-all", silent_server.port), ("worker", closed_port)):
        db = f"postgresql://u@127.0.0.1:{port}/x"
        # Well under procrastinate's 30 s pool timeout: the connection attempt is bounded.
        code, out = await asyncio.wait_for(
            _run("accounts", command, "--db", db, "--accounts", accounts, env=env), 20
        )
        assert (code, out) == (
            1,
            f"indica-async: error: cannot connect to PostgreSQL at 127.0.0.1:{port} "
            "(tried for up to 5 s)\n",
        )


async def test_ctrl_c_while_enqueueing_is_one_line_and_130(
    silent_server: SilentServer, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "default", "-m", "indica_async", "accounts", "sync-all",
        "--db", f"postgresql://u@127.0.0.1:{silent_server.port}/x",
        "--accounts", str(_accounts(tmp_path)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(1000):  # until it is waiting on the database
        if silent_server.accepted:
            break
        await asyncio.sleep(0.01)
    assert silent_server.accepted
    process.send_signal(signal.SIGINT)
    out, _ = await asyncio.wait_for(process.communicate(), 20)

    assert (process.returncode, out.decode()) == (130, "indica-async: interrupted\n")
