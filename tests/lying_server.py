"""A tiny list endpoint on 127.0.0.1 that lies in the ways a real server might.

Written apart from the sandbox, so that the walk is tested against a server that
shares none of its assumptions: it repeats customers inside a page or across days,
answers one full page with ``limit - 1`` records, and can leave chosen requests
unanswered until the test lets them go (only a cancellation can end those).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import attrs
import orjson
from aiohttp import web


@attrs.define
class LyingServer:
    """Customers per day (lists of ids) served at ``base_url + /customers``."""

    days: dict[dt.date, list[int]]
    #: Every page repeats its first customer at its end.
    repeat_in_page: bool = False
    #: The n-th full page (0-based) holds ``limit - 1`` records; the rest are honest.
    short_full_page: int | None = None
    #: Requests whose window this returns True for are held until `release` is set.
    hang: Callable[[dt.date, dt.date], bool] = lambda first, last: False

    base_url: str = ""
    requests: int = 0
    full_pages: int = 0
    #: The window and limit of the page answered short (``short_full_page``), once sent.
    shortened: tuple[dt.date, dt.date, int] | None = None
    held: list[web.Request] = attrs.field(factory=list)
    release: asyncio.Event = attrs.field(factory=asyncio.Event)

    def dropped(self) -> int:
        """Held requests whose client has gone away (the connection was closed)."""
        return sum(r.transport is None or r.transport.is_closing() for r in self.held)

    async def _list(self, request: web.Request) -> web.Response:
        self.requests += 1
        first = dt.date.fromisoformat(request.query["start_date"])
        last = dt.date.fromisoformat(request.query["end_date"])
        limit = int(request.query["limit"])
        if self.hang(first, last):
            self.held.append(request)
            await self.release.wait()
        ids = [
            i for day, day_ids in sorted(self.days.items()) if first <= day <= last for i in day_ids
        ][:limit]
        if len(ids) == limit:
            if self.full_pages == self.short_full_page:
                ids = ids[:-1]
                self.shortened = (first, last, limit)
            self.full_pages += 1
        if self.repeat_in_page and ids:
            ids = [*ids, ids[0]]
        return web.Response(
            body=orjson.dumps([{"id": i} for i in ids]), content_type="application/json"
        )


@asynccontextmanager
async def serve(server: LyingServer) -> AsyncIterator[LyingServer]:
    """Run ``server`` on a free loopback port for the block's duration."""
    app = web.Application()
    app.router.add_get("/v/customers", server._list)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/v"
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()
