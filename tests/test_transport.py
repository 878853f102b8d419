"""The transport against servers that lie: broken status lines, endless and bomb-like
bodies, and the client's lifecycle across event loops.

- No exception raised for a transport failure carries aiohttp's exception anywhere in
  its chain (``__cause__``/``__context__``): aiohttp's holds the request's headers, and
  so the API key.
- A body larger than ``max_response_size`` (after decompression) ends the call with
  `ResponseTooLargeError`, quickly, with memory bounded, and is not retried.
- `aclose()` awaited in another event loop raises `ClientStateError` and leaves the
  client usable and closable in its own loop.
- The client's bound on requests in flight holds with a caller's own session.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import threading
import time
import traceback
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import aiohttp
import psutil
import pytest
from aiohttp import web
from scripted_server import ScriptedServer, ok

from indica_async import (
    APIConnectionError,
    AsyncIndicaClient,
    ClientStateError,
    DecodeError,
    IndicaError,
    ResponseTooLargeError,
    RetryPolicy,
)

KEY = "transport-secret-key-0123456789abcdef"
FAST = RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.01, max_retry_time=10)
MiB = 1024 * 1024


# --- a raw TCP server that writes whatever a test scripts ---------------------------------

RawScript = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(script: RawScript) -> AsyncIterator[str]:
    """Serve ``script`` on 127.0.0.1; yield the base URL."""
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)  # type: ignore[arg-type]
        try:
            await reader.readuntil(b"\r\n\r\n")
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/open_api/v2.3"
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


def replying(raw: bytes) -> RawScript:
    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return script


# --- C: no aiohttp exception, and so no key, in any exception chain -----------------------


def chain(exc: BaseException) -> Iterator[BaseException]:
    """Every exception reachable through ``__cause__`` and ``__context__``."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def assert_holds_no_key(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    assert KEY not in text
    for linked in chain(exc):
        assert not isinstance(linked, aiohttp.ClientError), repr(linked)
        assert KEY not in repr(linked) and KEY not in str(linked)
        assert KEY not in repr(linked.args)
        assert all(KEY not in repr(value) for value in vars(linked).values())


BROKEN_ANSWERS = {
    "malformed-status-line": b"HTTP/1.1 abc nonsense\r\nContent-Length: 2\r\n\r\n[]",
    "not-http": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "bad-header": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nBad Header Line\r\n\r\n[]",
    "bad-content-length": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n[]",
    "cut-short": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[1,2",
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n[]\r\n0\r\n\r\n",
    "bad-gzip": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!"
    ),
    "closed-at-once": b"",
}


@pytest.mark.parametrize("answer", list(BROKEN_ANSWERS.values()), ids=list(BROKEN_ANSWERS))
async def test_no_transport_failure_keeps_aiohttps_exception_or_the_key(answer: bytes) -> None:
    async with (
        raw_server(replying(answer)) as url,
        AsyncIndicaClient(KEY, base_url=url, retry=FAST) as client,
    ):
        with pytest.raises(IndicaError) as info:
            await asyncio.wait_for(client.customers.get(1), timeout=30)
    assert isinstance(info.value, APIConnectionError), repr(info.value)
    assert_holds_no_key(info.value)


async def test_a_refused_connection_and_a_timeout_keep_no_key_either(
    unused_tcp_port: int,
) -> None:
    refused = f"http://127.0.0.1:{unused_tcp_port}/open_api/v2.3"
    async with AsyncIndicaClient(KEY, base_url=refused, retry=FAST) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.customers.get(1)
    assert_holds_no_key(info.value)

    async def silent(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers

    async with (
        raw_server(silent) as url,
        AsyncIndicaClient(KEY, base_url=url, retry=FAST, timeout=0.1) as client,
    ):
        with pytest.raises(APIConnectionError) as info:
            await client.customers.get(1)
    assert_holds_no_key(info.value)


# --- B: a body's size is bounded -----------------------------------------------------------


class PeakRSS:
    """Samples this process's resident memory while a block runs; ``delta`` is the rise."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.before = self.peak = 0

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self._process.memory_info().rss)
            await asyncio.sleep(0.002)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        self.before = self.peak = self._process.memory_info().rss
        sampler = asyncio.ensure_future(self._sample())
        try:
            yield
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def delta(self) -> int:
        return self.peak - self.before


#: What a lying server sends at most, so that a client without a bound still ends.
HOSTILE_TOTAL = 256 * MiB
CAP = 2 * MiB


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped (about 1/1000 of that)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MiB)
    parts = [compressor.compress(block) for _ in range(size // MiB)]
    parts.append(compressor.flush())
    return b"".join(parts)


async def stream_zeros(request: web.Request, *, chunked: bool) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if chunked:
        response.enable_chunked_encoding()
    else:
        response.content_length = HOSTILE_TOTAL
    await response.prepare(request)
    block = b" " * (64 * 1024)
    with contextlib.suppress(ConnectionError):
        for _ in range(HOSTILE_TOTAL // len(block)):
            await response.write(block)
    return response


async def endless_chunks(_: int, __: float, request: web.Request) -> web.StreamResponse:
    return await stream_zeros(request, chunked=True)


async def huge_honest(_: int, __: float, request: web.Request) -> web.StreamResponse:
    return await stream_zeros(request, chunked=False)


@functools.cache
def hostile_bomb() -> bytes:
    """The bomb, built on first use: only the test that sends it pays for it."""
    return gzip_bomb(HOSTILE_TOTAL)


async def bomb_in_small_pieces(_: int, __: float, request: web.Request) -> web.StreamResponse:
    bomb = hostile_bomb()
    response = web.StreamResponse(
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        for start in range(0, len(bomb), 1024):
            await response.write(bomb[start : start + 1024])
    return response


@pytest.mark.parametrize(
    "script",
    [endless_chunks, bomb_in_small_pieces, huge_honest],
    ids=["endless-chunked", "gzip-bomb", "honest-but-huge"],
)
async def test_a_body_over_the_cap_ends_in_the_sdks_error_quickly_with_memory_bounded(
    script: Callable[[int, float, web.Request], Awaitable[web.StreamResponse]],
) -> None:
    rss = PeakRSS()
    async with (
        ScriptedServer(script) as server,
        AsyncIndicaClient(KEY, base_url=server.base_url, retry=FAST, max_response_size=CAP) as c,
    ):
        started = time.monotonic()
        async with rss.watching():
            with pytest.raises(ResponseTooLargeError) as info:
                await asyncio.wait_for(c.customers.get(1), timeout=60)
        took = time.monotonic() - started
    assert info.value.limit == CAP and str(CAP) in str(info.value)
    assert info.value.path == "/customers/1"  # an id is no personal data: the real path
    assert len(server.arrivals) == 1  # never retried
    assert took < 5.0
    assert rss.delta < HOSTILE_TOTAL // 8, f"RSS rose {rss.delta / MiB:.0f} MiB"


async def test_a_body_of_exactly_the_cap_is_read_and_one_byte_more_is_not() -> None:
    cap = 4096

    async def padded(index: int, _: float, request: web.Request) -> web.StreamResponse:
        size = cap if index == 0 else cap + 1
        body = b'{"id": 7}'.ljust(size)
        encoded = gzip.compress(body) if index == 0 else body  # decompressed size counts
        headers = {"Content-Encoding": "gzip"} if index == 0 else {}
        return web.Response(body=encoded, content_type="application/json", headers=headers)

    async with (
        ScriptedServer(padded) as server,
        AsyncIndicaClient(KEY, base_url=server.base_url, retry=FAST, max_response_size=cap) as c,
    ):
        assert (await c.customers.get(7)).id == 7
        with pytest.raises(ResponseTooLargeError):
            await c.customers.get(7)


async def test_answers_with_no_body_end_every_time_not_only_the_first() -> None:
    # aiohttp hands every bodiless answer (a 204) one shared, stateful empty stream;
    # read as chunks, it ends the first time and never again. Each call must end.
    async def no_content(index: int, _: float, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async with (
        ScriptedServer(no_content) as server,
        AsyncIndicaClient(KEY, base_url=server.base_url, retry=FAST) as client,
    ):
        for _ in range(3):
            with pytest.raises(DecodeError):  # 2xx, but no customers in it
                await asyncio.wait_for(client.customers.get(7), 5)
        assert len(server.arrivals) == 3


def test_max_response_size_is_checked() -> None:
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(IndicaError):
            AsyncIndicaClient(KEY, max_response_size=bad)  # type: ignore[arg-type]


# --- D: aclose() from another event loop ----------------------------------------------------


def client_connections(port: int) -> int:
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


async def test_aclose_from_another_loop_fails_loudly_and_closes_nothing() -> None:
    async with ScriptedServer(ok) as server:
        client = AsyncIndicaClient(KEY, base_url=server.base_url, retry=FAST)
        try:
            await asyncio.gather(*(client.customers.get(n) for n in range(1, 9)))
            pooled = client_connections(server.port)
            assert pooled >= 2  # idle keep-alive connections: only aclose() ends them

            outcome: list[BaseException | None] = []

            def from_another_loop() -> None:
                try:
                    asyncio.run(client.aclose())
                    outcome.append(None)
                except BaseException as exc:
                    outcome.append(exc)

            thread = threading.Thread(target=from_another_loop)
            thread.start()
            await asyncio.to_thread(thread.join, 10)
            assert len(outcome) == 1 and isinstance(outcome[0], ClientStateError), outcome
            assert "another event loop" in str(outcome[0])
            assert not client.closed
            assert client_connections(server.port) == pooled  # nothing was half-closed
            # Still usable in its own loop...
            assert (await client.customers.get(1)).id >= 1
        finally:
            await client.aclose()
        # ...and its own loop's aclose() releases every socket.
        for _ in range(100):
            if client_connections(server.port) == 0:
                break
            await asyncio.sleep(0.02)
        assert client_connections(server.port) == 0
        assert client.closed


# --- E: one bound on requests in flight, with a caller's session too ----------------------


@pytest.mark.parametrize("own_session", [False, True], ids=["client-session", "caller-session"])
async def test_the_bound_on_requests_in_flight_holds_with_any_session(own_session: bool) -> None:
    in_flight = peak = 0

    async def slow(index: int, at: float, request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.05)
            return await ok(index, at, request)
        finally:
            in_flight -= 1

    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(ScriptedServer(slow))
        session = None
        if own_session:
            # The caller's connector allows 100: the client's bound must still hold.
            session = await stack.enter_async_context(
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
            )
        client = await stack.enter_async_context(
            AsyncIndicaClient(
                KEY, base_url=server.base_url, retry=FAST, max_connections=3, session=session
            )
        )
        await asyncio.gather(*(client.customers.get(n) for n in range(1, 25)))
    assert len(server.arrivals) == 24
    assert peak == 3
