"""Fixtures shared by the reliability and security suites (soak, fuzz, storm, lifecycle).

- ``silent_server``: a loopback TCP server that accepts connections, reads, and never
  answers, for the bounded-time tests.
- ``all_logs``: every logger of the process captured at DEBUG (the root, the SDK's,
  aiohttp's and asyncio's), with the text of each record as it would be written.
- ``resources``: the process's open file descriptors, TCP connections and pending tasks,
  counted so a test can check that nothing was left open.
- ``postgres_server``, ``postgres_database``, ``store_target``: from ``_postgres.py``,
  one PostgreSQL server per session for every suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import AsyncIterator

import attrs
import psutil
import pytest
from _postgres import postgres_database, postgres_server, store_target

__all__ = ["postgres_database", "postgres_server", "store_target"]

#: Every logger whose records could carry request details: captured at DEBUG.
DEBUG_LOGGERS = (
    "",
    "indica_async",
    "aiohttp",
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "asyncio",
    "tenacity",
)


# --- a server that never answers ---------------------------------------------------------


class SilentServer:
    """Accepts connections on 127.0.0.1, reads whatever arrives, and never answers."""

    def __init__(self) -> None:
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: list[asyncio.Task[object]] = []
        self._stop = asyncio.Event()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/open_api/v2.3"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.append(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.append(task)
        read = asyncio.ensure_future(reader.read(65536))
        stop = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
        # Keep the connection open and silent until the test ends.
        await stop
        read.cancel()
        await asyncio.gather(read, return_exceptions=True)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def aclose(self) -> None:
        self._stop.set()
        # Let every handler return before the connections close under it.
        await asyncio.gather(*self._handlers, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def silent_server() -> AsyncIterator[SilentServer]:
    server = SilentServer()
    await server.start()
    try:
        yield server
    finally:
        await server.aclose()


# --- logs at DEBUG, everywhere -----------------------------------------------------------


@attrs.define
class LogCapture:
    """The records of every logger, and their full text (message, args, exception)."""

    caplog: pytest.LogCaptureFixture

    @property
    def records(self) -> list[logging.LogRecord]:
        return self.caplog.records

    def texts(self) -> list[str]:
        """Everything each record could write: message, raw args, exception and stack."""
        out = []
        for record in self.caplog.records:
            parts = [record.getMessage(), repr(record.msg), repr(record.args)]
            if record.exc_info and record.exc_info[1] is not None:
                parts.append("".join(traceback.format_exception(*record.exc_info)))
            parts.extend(filter(None, (record.exc_text, record.stack_info)))
            out.append("\n".join(parts))
        return out

    def find(self, needle: str) -> list[str]:
        """The texts of the records that contain ``needle``."""
        return [text for text in self.texts() if needle in text]


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> LogCapture:
    for name in DEBUG_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return LogCapture(caplog)


# --- open resources ----------------------------------------------------------------------


@attrs.frozen
class Snapshot:
    fds: int
    connections: frozenset[tuple[object, object, str]]
    tasks: frozenset[asyncio.Task[object]]


class Resources:
    """Counts the process's file descriptors, TCP connections and pending tasks."""

    def __init__(self) -> None:
        self._process = psutil.Process()

    def snapshot(self) -> Snapshot:
        connections = frozenset(
            (c.laddr, c.raddr, c.status) for c in self._process.net_connections(kind="tcp")
        )
        current = asyncio.current_task()
        tasks = frozenset(t for t in asyncio.all_tasks() if not t.done() and t is not current)
        return Snapshot(self._process.num_fds(), connections, tasks)

    async def settled_to(self, before: Snapshot, *, within: float = 3.0) -> Snapshot:
        """Wait (a little) for closing sockets and finishing tasks; return the last count.

        A closed transport releases its socket on a later turn of the loop, and the
        server's side of a connection closes once it sees the client's FIN.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            now = self.snapshot()
            clean = (
                now.fds <= before.fds
                and now.connections <= before.connections
                and now.tasks <= before.tasks
            )
            if clean or loop.time() > deadline:
                return now
            await asyncio.sleep(0.02)


@pytest.fixture
def resources() -> Resources:
    return Resources()
