"""Figures for docs/reliability.md: the rate-limit gate in storms, and lying bodies.

    python benchmarks/reliability_figures.py            # the rate-limit cases
    python benchmarks/reliability_figures.py endless    # or gzip, honest: one body case

Each case runs a tiny aiohttp.web server on 127.0.0.1 that scripts its answers, and
prints one line. It runs against whatever `indica_async` is importable, so the same
command measures an older checkout too (cases it cannot run say so).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import sys
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import psutil  # type: ignore[import-untyped]
from aiohttp import web

from indica_async import AsyncIndicaClient, IndicaError, RetryPolicy

KEY = "figures-key-0123456789"
MiB = 1024 * 1024
Handler = Callable[[int, float, web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[tuple[str, list[tuple[float, int]]]]:
    arrivals: list[tuple[float, int]] = []
    started = time.monotonic()

    async def handle(request: web.Request) -> web.StreamResponse:
        at = time.monotonic() - started
        response = await handler(len(arrivals), at, request)
        arrivals.append((at, response.status))
        return response

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/open_api/v2.3", arrivals
    finally:
        await runner.cleanup()


async def ok(index: int, _: float, request: web.Request) -> web.StreamResponse:
    if request.path.endswith("/customers"):
        body = orjson.dumps([{"id": index * 1000 + i + 1} for i in range(3)])
    else:
        body = orjson.dumps({"id": index + 1})
    return web.Response(body=body, content_type="application/json")


def too_many(retry_after: str) -> web.Response:
    return web.Response(status=429, body=b"{}", headers={"Retry-After": retry_after})


async def concurrent_lists(calls: int, refusals: int) -> str:
    async def storm(index: int, at: float, request: web.Request) -> web.StreamResponse:
        return too_many("1") if index < refusals else await ok(index, at, request)

    async with (
        serve(storm) as (url, _),
        AsyncIndicaClient(KEY, base_url=url, retry=RetryPolicy(max_retry_time=5)) as client,
    ):
        took: list[float] = []

        async def one() -> None:
            started = time.monotonic()
            with contextlib.suppress(IndicaError):
                await client.customers.list(start_date="2024-01-01", end_date="2024-01-31")
            took.append(time.monotonic() - started)

        await asyncio.gather(*(one() for _ in range(calls)))
    return (
        f"{calls} concurrent list(), max_retry_time=5, first {refusals} answers 429 "
        f"(Retry-After: 1): calls ended after {min(took):.1f} to {max(took):.1f} s"
    )


async def iterate_after_storm(storm_seconds: float) -> str:
    async def storm(index: int, at: float, request: web.Request) -> web.StreamResponse:
        return too_many("1") if at < storm_seconds else await ok(index, at, request)

    async def walk(url: str) -> float:
        policy = RetryPolicy(max_retries=1000, max_retry_time=600)
        async with AsyncIndicaClient(KEY, base_url=url, retry=policy) as client:
            started = time.monotonic()
            async for _ in client.customers.iterate(
                start_date="2024-01-01",
                end_date="2024-03-31",
                limit=10,
                initial_days=1,
                detect_cap=False,
            ):
                pass
            return time.monotonic() - started

    async with serve(ok) as (url, _):
        clean = await walk(url)
    async with serve(storm) as (url, arrivals):
        await walk(url)
    first = next(at for at, status in arrivals if status == 200)
    return (
        f"iterate of 91 windows after {storm_seconds:g} s of 429s (Retry-After: 1): "
        f"{arrivals[-1][0] - first:.2f} s from the first answer to the last request "
        f"(without the storm the whole walk takes {clean:.2f} s)"
    )


async def pace_under_retry_after(retry_after: str, refusals: int) -> str:
    async def storm(index: int, at: float, request: web.Request) -> web.StreamResponse:
        return too_many(retry_after) if index < refusals else await ok(index, at, request)

    policy = RetryPolicy(max_retries=1000, max_retry_time=600)
    async with (
        serve(storm) as (url, arrivals),
        AsyncIndicaClient(KEY, base_url=url, retry=policy) as client,
    ):
        await asyncio.gather(*(client.customers.get(n) for n in range(1, 9)))
    times = [at for at, _ in arrivals]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return (
        f"8 concurrent get(), first {refusals} answers 429 (Retry-After: {retry_after}): "
        f"longest silence {max(gaps):.2f} s, all done after {times[-1]:.1f} s"
    )


def gzip_bomb(total: int) -> list[bytes]:
    """``total`` zero bytes gzipped (about 1/1000 of that), in 1 KiB pieces."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = b"".join(compressor.compress(bytes(MiB)) for _ in range(total // MiB))
    data += compressor.flush()
    return [data[i : i + 1024] for i in range(0, len(data), 1024)]


async def lying_body(kind: str) -> str:
    total = 256 * MiB
    bomb = gzip_bomb(total) if kind == "gzip bomb" else []

    async def answer(_: int, __: float, request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "application/json"}
        if kind == "gzip bomb":
            headers["Content-Encoding"] = "gzip"
        response = web.StreamResponse(headers=headers)
        if kind == "honest 256 MiB":
            response.content_length = total
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        pieces = bomb or [b" " * 65536] * (total // 65536)
        with contextlib.suppress(ConnectionError):
            for piece in pieces:
                await response.write(piece)
        return response

    process = psutil.Process()
    # No retries: one attempt shows the memory one response can take.
    options: dict[str, object] = {"retry": 0}
    if "max_response_size" not in inspect.signature(AsyncIndicaClient).parameters:
        options = {"max_retries": 0}  # the client before max_response_size
    async with (
        serve(answer) as (url, _),
        AsyncIndicaClient(KEY, base_url=url, **options) as c,  # type: ignore[arg-type]
    ):
        before = peak = process.memory_info().rss

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max(peak, process.memory_info().rss)
                await asyncio.sleep(0.005)

        sampler = asyncio.ensure_future(sample())
        started = time.monotonic()
        try:
            await c.customers.get(1)
            outcome = "returned"
        except BaseException as exc:
            outcome = type(exc).__name__
        took = time.monotonic() - started
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    return f"{kind}: {outcome} after {took:.2f} s, RSS rose {(peak - before) / MiB:.0f} MiB"


BODIES = {"endless": "endless chunked", "gzip": "gzip bomb", "honest": "honest 256 MiB"}


async def main(args: list[str]) -> None:
    if args:
        # One body case per process: memory freed by an earlier case would hide a rise.
        print(await lying_body(BODIES[args[0]]))
        return
    print(await concurrent_lists(16, 48))
    print(await concurrent_lists(48, 48))
    print(await iterate_after_storm(5.0))
    print(await pace_under_retry_after("5", 6))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
