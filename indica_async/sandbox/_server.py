"""The sandbox server: the three customer endpoints of open API v2.3 on aiohttp.web."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import math
import re
import signal
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from types import TracebackType
from typing import Final, TypeVar

import orjson
from aiohttp import web

from ._config import DEFAULT_LIST_LIMIT, FaultKind, SandboxConfig
from ._data import generate_customers
from ._faults import (
    FaultInjector,
    TokenBucket,
    format_delay_seconds,
    html_error_page,
    retry_after_date,
)
from ._records import SandboxRecord, SandboxRecords
from ._stats import ListRequest, SandboxStats

__all__ = ["API_PREFIX", "Sandbox", "run_server", "serve"]

API_PREFIX: Final = "/open_api/v2.3"
"""Path under which the sandbox serves the API, as the vendor does."""

_JSON: Final = "application/json"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGITS = re.compile(r"[0-9]+")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, error: str, message: str) -> web.Response:
    body = orjson.dumps({"error": error, "message": message})
    return web.Response(status=status, body=body, content_type=_JSON)


def _parse_date(request: web.Request, name: str) -> date | web.Response:
    value = request.query.get(name)
    if value is None:
        return _error(400, "bad_request", f"{name} is required (YYYY-MM-DD)")
    if _DATE.fullmatch(value):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    return _error(400, "bad_request", f"{name} must be a date in the form YYYY-MM-DD")


class _Api:
    """Handlers and middleware of one sandbox; state lives here, not in globals."""

    def __init__(self, config: SandboxConfig, records: SandboxRecords, stats: SandboxStats):
        self.config = config
        self.records = records
        self.stats = stats
        self.faults = FaultInjector(config.faults)
        self.limiter: TokenBucket | None = None
        if config.rate_limit is not None:
            burst = config.rate_burst or max(1, math.ceil(config.rate_limit / 5))
            self.limiter = TokenBucket(config.rate_limit, burst)
        self._key = config.api_key.encode()

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        app.router.add_get(f"{API_PREFIX}/customers", self.list_customers, name="list")
        # Default segment pattern: %2F in a state id decodes into the value, while a
        # literal slash stays a path separator (and so a 404).
        app.router.add_get(
            f"{API_PREFIX}/customers/state-id/{{state_id}}", self.get_by_state_id, name="state"
        )
        app.router.add_get(f"{API_PREFIX}/customers/{{customer_id}}", self.get, name="get")
        return app

    @web.middleware
    async def middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        stats = self.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            response = await self._dispatch(request, handler)
            transport = request.transport
            if response.prepared or transport is None or transport.is_closing():
                return response  # a fault took the connection down
            stats.statuses[response.status] += 1
            # Sent here rather than by aiohttp after we return, so that a request counts
            # as in flight until its last byte is written.
            with contextlib.suppress(ConnectionError):
                await response.prepare(request)
                await response.write_eof()
            return response
        finally:
            stats.in_flight -= 1

    async def _dispatch(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        config = self.config
        if config.latency:
            await asyncio.sleep(config.latency)
        unmatched = request.match_info.http_exception
        if unmatched is not None:
            if unmatched.status == 405:
                response = _error(405, "method_not_allowed", f"{request.method} not allowed")
                response.headers["Allow"] = unmatched.headers.get("Allow", "GET")
                return response
            return _error(404, "not_found", "No such endpoint")
        endpoint = request.match_info.route.name or ""
        self.stats.by_endpoint[endpoint] += 1

        key = request.headers.get("X-Api-Key", "").encode()
        if not hmac.compare_digest(key, self._key):
            return _error(401, "unauthorized", "Missing or invalid X-Api-Key header")
        if self.limiter is not None:
            wait = self.limiter.take()
            if wait:
                self.stats.rate_limited += 1
                return self._too_many_requests(format_delay_seconds(wait))
        kind = self.faults.choose()
        if kind is None:
            return await handler(request)
        self.stats.faults[kind] += 1
        return await self._fault(kind, request, handler)

    def _too_many_requests(self, retry_after: str) -> web.Response:
        self.stats.throttled += 1
        response = _error(429, "rate_limited", "Too many requests, slow down")
        response.headers["Retry-After"] = retry_after
        return response

    async def _fault(
        self, kind: FaultKind, request: web.Request, handler: _Handler
    ) -> web.StreamResponse:
        faults = self.config.faults
        if kind == "429_seconds":
            return self._too_many_requests(format_delay_seconds(faults.retry_after))
        if kind == "429_date":
            return self._too_many_requests(retry_after_date(faults.retry_after))
        if kind == "latency":
            await asyncio.sleep(faults.spike)
            return await handler(request)
        if kind == "drop":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never sent: the connection is gone
        if kind == "truncate":
            return await self._truncate(request, await handler(request))
        status = int(kind[:3])
        if kind.endswith("_html"):
            page = html_error_page(status)
            return web.Response(status=status, text=page, content_type="text/html")
        return _error(status, "server_error", "The server could not complete the request")

    async def _truncate(self, request: web.Request, full: web.StreamResponse) -> web.StreamResponse:
        body = full.body if isinstance(full, web.Response) else None
        if not isinstance(body, bytes) or request.transport is None:
            return full
        response = web.StreamResponse(status=full.status, headers=full.headers)
        response.content_length = len(body)
        response.force_close()
        with contextlib.suppress(ConnectionError):
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
        request.transport.close()
        return response

    def _plan_allows(self) -> web.Response | None:
        if self.config.plan == "pro":
            return None
        return _error(403, "forbidden", "This endpoint is available on the PRO plan only")

    async def get(self, request: web.Request) -> web.Response:
        denied = self._plan_allows()
        if denied is not None:
            return denied
        raw_id = request.match_info["customer_id"]
        index = None
        if _DIGITS.fullmatch(raw_id):
            index = self.records.index_of_id(int(raw_id))
        if index is None:
            return _error(404, "not_found", "Customer not found")
        return web.Response(body=self.records.raw(index), content_type=_JSON)

    async def get_by_state_id(self, request: web.Request) -> web.Response:
        denied = self._plan_allows()
        if denied is not None:
            return denied
        index = self.records.index_of_state_id(request.match_info["state_id"])
        if index is None:
            return _error(404, "not_found", "Customer not found")
        return web.Response(body=self.records.raw(index), content_type=_JSON)

    async def list_customers(self, request: web.Request) -> web.Response:
        start = _parse_date(request, "start_date")
        if isinstance(start, web.Response):
            return start
        end = _parse_date(request, "end_date")
        if isinstance(end, web.Response):
            return end
        if end < start:
            return _error(400, "bad_request", "end_date may not come before start_date")
        raw_limit = request.query.get("limit")
        limit = DEFAULT_LIST_LIMIT
        if raw_limit is not None:
            if not _DIGITS.fullmatch(raw_limit) or int(raw_limit) < 1:
                return _error(400, "bad_request", "limit must be a positive integer")
            limit = int(raw_limit)
        max_limit = self.config.max_limit
        if max_limit is not None and limit > max_limit:
            return _error(400, "bad_request", f"limit may not exceed {max_limit}")
        served = limit if self.config.limit_cap is None else min(limit, self.config.limit_cap)
        lo, hi = self.records.created_range(start, end)
        hi = min(hi, lo + served)
        if self.config.envelope == "data":
            body = self.records.json_array(lo, hi, prefix=b'{"data":', suffix=b"}")
        else:
            body = self.records.json_array(lo, hi)
        self.stats.list_requests.append(ListRequest(start, end, limit, hi - lo))
        return web.Response(body=body, content_type=_JSON)


def _as_records(records: SandboxRecords | Iterable[SandboxRecord]) -> SandboxRecords:
    if isinstance(records, SandboxRecords):
        return records
    return SandboxRecords.from_records(records)


_S = TypeVar("_S", bound="_LoopbackServer")


class _LoopbackServer:
    """What every sandbox shares: the port, the base URL, started once, closed once."""

    def __init__(self, *, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._bound: tuple[str, int] | None = None
        self._closed = False

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/open_api/v2.3``; available once started."""
        host, port = self._address()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}{API_PREFIX}"

    @property
    def port(self) -> int:
        """The port the sandbox listens on (the one chosen, for port 0); once started."""
        return self._address()[1]

    def _address(self) -> tuple[str, int]:
        if self._bound is None or self._runner is None:
            raise RuntimeError("the sandbox is not running")
        return self._bound

    def _check_startable(self) -> None:
        if self._runner is not None or self._closed:
            raise RuntimeError("a sandbox is started once")

    async def _serve(self, app: web.Application) -> None:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runner = runner
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await self.aclose()
            raise
        host, port = runner.addresses[0][:2]
        self._bound = (str(host), int(port))

    async def start(self) -> None:
        """Bind the port and start serving."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Stop serving and release the port."""
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self: _S) -> _S:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class Sandbox(_LoopbackServer):
    """A local IndicaOnline double, serving on ``127.0.0.1`` while the context is open.

    ``async with Sandbox(SandboxConfig(customers=500)) as sandbox:`` then point a client
    at ``sandbox.base_url`` with ``sandbox.api_key``. Customers are generated from
    ``config`` unless ``records`` are given (only the serving settings of ``config``
    then apply); one ``SandboxRecords`` can back any number of sandboxes.
    A sandbox is started once and closed once.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        records: SandboxRecords | Iterable[SandboxRecord] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = config or SandboxConfig()
        self.records = generate_customers(self.config) if records is None else _as_records(records)
        """The ground truth: every customer served, sorted by ``(created, id)``."""
        self.stats = SandboxStats()
        self._api: _Api | None = None
        super().__init__(host=host, port=port)

    @property
    def api_key(self) -> str:
        """The key the sandbox accepts in ``X-Api-Key``."""
        return self.config.api_key

    async def start(self) -> None:
        """Bind the port and start serving."""
        self._check_startable()
        self._api = _Api(self.config, self.records, self.stats)
        await self._serve(self._api.application())

    def set_records(self, records: SandboxRecords) -> None:
        """Serve ``records`` from now on (`mutate` and its helpers add, change and delete)."""
        self.records = records
        if self._api is not None:
            self._api.records = records


async def serve(
    config: SandboxConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    records: SandboxRecords | Iterable[SandboxRecord] | None = None,
    ready: Callable[[Sandbox], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or forever, until cancelled).

    ``ready`` is called with the running sandbox once the port is bound.
    """
    async with Sandbox(config, records=records, host=host, port=port) as sandbox:
        if ready is not None:
            ready(sandbox)
        await (stop or asyncio.Event()).wait()


def run_server(
    config: SandboxConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[Sandbox], None] | None = None,
) -> None:
    """Run ``serve`` in a new event loop until SIGINT or SIGTERM, then return."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Not on Windows' loops: there Ctrl-C interrupts asyncio.run instead.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        await serve(config, host=host, port=port, ready=ready, stop=stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
