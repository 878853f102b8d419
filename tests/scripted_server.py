"""A tiny aiohttp.web server on 127.0.0.1 whose every answer a test scripts.

Written apart from the sandbox, so a test can lie in ways the sandbox does not: a
429 storm of a chosen length, endless or bomb-like bodies, broken status lines.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable

import attrs
import orjson
from aiohttp import web

#: What a script sees of a request: its number (from 0), seconds since the server
#: started, and the request itself.
Script = Callable[[int, float, web.Request], Awaitable[web.StreamResponse]]


@attrs.define
class Arrival:
    index: int
    at: float
    status: int = 0


def customers_body(request: web.Request, index: int, count: int = 3) -> bytes:
    """``count`` minimal customers with ids unique to this request."""
    return orjson.dumps([{"id": index * 1000 + i + 1} for i in range(count)])


async def ok(index: int, _: float, request: web.Request) -> web.StreamResponse:
    """A small honest answer: a list for the list endpoint, one customer otherwise."""
    if request.path.endswith("/customers"):
        body = customers_body(request, index)
    else:
        body = orjson.dumps({"id": index + 1})
    return web.Response(body=body, content_type="application/json")


def too_many(retry_after: str) -> web.Response:
    return web.Response(
        status=429,
        body=b'{"error": "rate_limited"}',
        content_type="application/json",
        headers={"Retry-After": retry_after},
    )


class ScriptedServer:
    """Runs ``script`` for every request; records when each arrived and its status."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self.arrivals: list[Arrival] = []
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.started = 0.0

    @property
    def base_url(self) -> str:
        assert self._runner is not None
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}/open_api/v2.3"

    @property
    def port(self) -> int:
        assert self._runner is not None
        port: int = self._runner.addresses[0][1]
        return port

    def statuses(self) -> list[int]:
        return [a.status for a in self.arrivals]

    def gaps(self) -> list[float]:
        """Seconds between consecutive arrivals."""
        times = [a.at for a in self.arrivals]
        return [b - a for a, b in itertools.pairwise(times)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrival = Arrival(len(self.arrivals), time.monotonic() - self.started)
        self.arrivals.append(arrival)
        response = await self._script(arrival.index, arrival.at, request)
        arrival.status = response.status
        return response

    async def __aenter__(self) -> ScriptedServer:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await self._site.start()
        self.started = time.monotonic()
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
