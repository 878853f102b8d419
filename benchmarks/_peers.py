"""The paths the SDK is measured against, and the SDK's own paths, as coroutines.

Peers fetch a precomputed list of windows (each holding fewer customers than ``limit``,
so no response is full) with ``concurrency`` workers pulling from one shared iterator,
the way a careful hand-written loop would. Every path counts the customers it saw.

- ``aiohttp_orjson``: aiohttp and ``orjson.loads`` into plain dicts: no types, no checks.
- ``aiohttp_msgspec``: aiohttp and a typed ``msgspec`` decode into Structs (the ceiling).
- ``httpx_pydantic``: ``httpx.AsyncClient`` and pydantic v2 ``TypeAdapter.validate_json``
  into models mirroring `Customer`, `Address` and `Recommendation`.

httpx, pydantic and msgspec are imported only when their path runs; without them the
path is reported as skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from typing import Any

import aiohttp
import orjson

from indica_async import AsyncIndicaClient, Progress

from ._harness import Outcome
from ._sandbox import Target, Window

__all__ = [
    "aiohttp_msgspec",
    "aiohttp_orjson",
    "httpx_pydantic",
    "msgspec_decoder",
    "naive_walk",
    "peer_available",
    "pydantic_adapter",
    "sdk_iterate",
    "sdk_list_windows",
]


def _query(window: Window, limit: int) -> dict[str, str]:
    first, last = window
    return {"start_date": first.isoformat(), "end_date": last.isoformat(), "limit": str(limit)}


def _headers(target: Target) -> dict[str, str]:
    return {"X-Api-Key": target.api_key, "Accept": "application/json"}


async def _aiohttp_pages(
    target: Target,
    windows: Sequence[Window],
    *,
    limit: int,
    concurrency: int,
    decode: Callable[[bytes], Sized],
) -> Outcome:
    url = target.base_url + "/customers"
    headers = _headers(target)
    shared: Iterator[Window] = iter(windows)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> int:
            seen = 0
            for window in shared:
                async with session.get(url, params=_query(window, limit), headers=headers) as resp:
                    resp.raise_for_status()
                    body = await resp.read()
                seen += len(decode(body))
            return seen

        counts = await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Outcome(sum(counts), len(windows))


async def aiohttp_orjson(
    target: Target, windows: Sequence[Window], *, limit: int, concurrency: int
) -> Outcome:
    """aiohttp + ``orjson.loads``: each page becomes a list of plain dicts."""
    return await _aiohttp_pages(
        target, windows, limit=limit, concurrency=concurrency, decode=orjson.loads
    )


async def aiohttp_msgspec(
    target: Target, windows: Sequence[Window], *, limit: int, concurrency: int
) -> Outcome:
    """aiohttp + a typed msgspec decode into Structs."""
    decoder = msgspec_decoder()
    return await _aiohttp_pages(
        target, windows, limit=limit, concurrency=concurrency, decode=decoder.decode
    )


async def httpx_pydantic(
    target: Target, windows: Sequence[Window], *, limit: int, concurrency: int
) -> Outcome:
    """httpx.AsyncClient + pydantic v2 ``validate_json`` into mirrored models."""
    import httpx

    adapter = pydantic_adapter()
    url = target.base_url + "/customers"
    headers = _headers(target)
    shared: Iterator[Window] = iter(windows)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as client:

        async def worker() -> int:
            seen = 0
            for window in shared:
                resp = await client.get(url, params=_query(window, limit), headers=headers)
                resp.raise_for_status()
                seen += len(adapter.validate_json(resp.content))
            return seen

        counts = await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Outcome(sum(counts), len(windows))


async def sdk_iterate(
    target: Target,
    start: dt.date,
    end: dt.date,
    *,
    limit: int,
    concurrency: int,
    max_connections: int | None = None,
) -> Outcome:
    """``client.customers.iterate``: the SDK plans its own windows."""
    progress = Progress()
    options: dict[str, Any] = {}
    if max_connections is not None:
        options["max_connections"] = max_connections
    seen = 0
    async with AsyncIndicaClient(target.api_key, base_url=target.base_url, **options) as client:
        async for _customer in client.customers.iterate(
            start_date=start,
            end_date=end,
            limit=limit,
            concurrency=concurrency,
            progress=progress,
        ):
            seen += 1
    return Outcome(seen, progress.requests)


async def sdk_list_windows(
    target: Target,
    windows: Sequence[Window],
    *,
    limit: int,
    concurrency: int,
    max_connections: int | None = None,
) -> Outcome:
    """``client.customers.list`` over the peers' fixed windows: the SDK's request and
    decode path without its window planning."""
    options: dict[str, Any] = {}
    if max_connections is not None:
        options["max_connections"] = max_connections
    shared: Iterator[Window] = iter(windows)
    async with AsyncIndicaClient(target.api_key, base_url=target.base_url, **options) as client:

        async def worker() -> int:
            seen = 0
            for first, last in shared:
                # Not kept in a variable: like the peers' loops, the page dies here.
                seen += len(
                    await client.customers.list(start_date=first, end_date=last, limit=limit)
                )
            return seen

        counts = await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Outcome(sum(counts), len(windows))


async def naive_walk(
    target: Target,
    windows: Iterable[Window],
    *,
    limit: int,
    max_limit: int,
    concurrency: int,
) -> Outcome:
    """A naive complete walk: fixed windows; a full page is split in halves (same
    ``limit``), and a full single day is asked again at ``max_limit``."""
    url = target.base_url + "/customers"
    headers = _headers(target)
    slots = asyncio.Semaphore(concurrency)
    requests = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def fetch(window: Window, asked: int) -> int:
            nonlocal requests
            async with slots:
                requests += 1
                async with session.get(url, params=_query(window, asked), headers=headers) as resp:
                    resp.raise_for_status()
                    body = await resp.read()
            count = len(orjson.loads(body))
            if count < asked:
                return count
            first, last = window
            if first < last:
                mid = first + (last - first) // 2
                halves = await asyncio.gather(
                    fetch((first, mid), asked), fetch((mid + dt.timedelta(days=1), last), asked)
                )
                return sum(halves)
            if asked < max_limit:
                return await fetch(window, max_limit)
            raise RuntimeError(f"{first} holds {max_limit} customers or more")

        counts = await asyncio.gather(*(fetch(window, limit) for window in windows))
    return Outcome(sum(counts), requests)


def peer_available(module: str) -> bool:
    """Whether an optional peer library is installed."""
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# --- the peers' models -------------------------------------------------------------------


@functools.cache
def pydantic_adapter() -> Any:
    """The pydantic ``TypeAdapter(list[PydanticCustomer])`` (imports pydantic)."""
    from . import _pydantic_models

    return _pydantic_models.ADAPTER


@functools.cache
def msgspec_decoder() -> Any:
    """The msgspec ``Decoder(list[MsgspecCustomer])`` (imports msgspec)."""
    from . import _msgspec_models

    return _msgspec_models.DECODER
