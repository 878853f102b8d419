"""A throwaway PostgreSQL server for the sync, report and workers suites, and a store on
each backend.

The server is started once per session (registered once, in ``tests/conftest.py``)
with the machine's own ``initdb`` and ``pg_ctl`` (as the ``postgres`` user when the
tests run as root, since initdb refuses root), listens on 127.0.0.1 on a free port, and
is stopped at the end. Each test gets a fresh database in it, or a fresh SQLite file.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator

import pytest

_databases = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:PORT``: a PostgreSQL server for this session."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on PATH")
    as_user: list[str] = []
    base = tempfile.mkdtemp(prefix="indica-sync-pg-")
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(base, "data")
    port = _free_port()
    subprocess.run(
        [*as_user, initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=60"
    subprocess.run(
        [
            *as_user,
            pg_ctl,
            "-D",
            data,
            "-l",
            os.path.join(base, "log"),
            "-o",
            options,
            "-w",
            "start",
        ],
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


async def _new_database(server: str) -> str:
    import asyncpg

    name = f"sync_test_{os.getpid()}_{next(_databases)}"
    connection = await asyncpg.connect(server + "/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_target(
    request: pytest.FixtureRequest, tmp_path: os.PathLike[str]
) -> AsyncIterator[str]:
    """Where a fresh store goes: an SQLite file path, or a new PostgreSQL database's URL."""
    if request.param == "sqlite":
        yield os.path.join(os.fspath(tmp_path), "customers.sqlite")
        return
    server = request.getfixturevalue("postgres_server")
    yield await _new_database(server)


@pytest.fixture
async def postgres_database(postgres_server: str) -> str:
    """The URL of a new, empty PostgreSQL database."""
    return await _new_database(postgres_server)
