"""The example web services in examples/, each run against a sandbox.

The aiohttp app is served by ``aiohttp.test_utils.TestServer`` on a real socket; the
FastAPI app runs in process, through ``httpx.ASGITransport``, with its lifespan entered
by hand (httpx does not run lifespans). Both get the same requests and must give the same
answers. FastAPI and httpx are not dependencies of the SDK: without them those cases skip.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from indica_async import Address, ConfigurationError, Recommendation
from indica_async.sandbox import (
    CUSTOMER_FIELDS,
    FaultConfig,
    Sandbox,
    SandboxConfig,
    SandboxRecord,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WRONG_KEY = "wrong-key-0123456789abcdef"


def load_example(name: str) -> ModuleType:
    """Import examples/NAME.py (examples/ is no package) under a private module name."""
    module_name = f"_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@attrs.frozen
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    def lines(self) -> list[Any]:
        return [orjson.loads(line) for line in self.body.splitlines()]


class BodyCutShortError(Exception):
    """The service sent a status, then failed and cut the body short."""


Get = Callable[..., Awaitable[Reply]]
Serve = Callable[..., AbstractAsyncContextManager[Get]]


@asynccontextmanager
async def serve_aiohttp(**client_options: Any) -> AsyncIterator[Get]:
    app = load_example("aiohttp_app").create_app(**client_options)
    server = TestServer(app)
    try:
        await server.start_server()  # runs the cleanup_ctx, which opens the client
    except BaseException:
        await server.close()
        raise
    async with TestClient(server) as client:

        async def get(path: str, params: Mapping[str, str] | None = None) -> Reply:
            async with client.get(path, params=params) as response:
                try:
                    body = await response.read()
                except aiohttp.ClientPayloadError as exc:
                    raise BodyCutShortError from exc
                return Reply(response.status, response.headers, body)

        get.client = app[load_example("aiohttp_app").INDICA_CLIENT]  # type: ignore[attr-defined]
        yield get
    assert get.client.closed  # type: ignore[attr-defined]


@asynccontextmanager
async def serve_fastapi(**client_options: Any) -> AsyncIterator[Get]:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    module = load_example("fastapi_app")
    app = module.create_app(**client_options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def get(path: str, params: Mapping[str, str] | None = None) -> Reply:
                try:
                    response = await client.get(path, params=params)
                except module.ExportInterruptedError as exc:
                    # In process, the app's exception reaches the caller; over a socket,
                    # the server would drop the connection mid-body.
                    raise BodyCutShortError from exc
                return Reply(response.status_code, response.headers, response.content)

            get.client = app.state.indica  # type: ignore[attr-defined]
            yield get
    assert get.client.closed  # type: ignore[attr-defined]


@pytest.fixture(params=["aiohttp", "fastapi"])
def serve(request: pytest.FixtureRequest) -> Serve:
    return serve_aiohttp if request.param == "aiohttp" else serve_fastapi


@pytest.fixture
async def sandbox(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    """A sandbox, and the environment that points the example apps at it."""
    async with Sandbox(SandboxConfig(customers=400)) as running:
        monkeypatch.setenv("INDICA_API_KEY", running.api_key)
        monkeypatch.setenv("INDICA_BASE_URL", running.base_url)
        yield running


def as_exported(record: SandboxRecord) -> dict[str, Any]:
    """The record's JSON with every field present, as the SDK's models write it back."""
    body = record.body
    nested = {"address": Address, "recommendation": Recommendation}
    full = {name: body.get(name) for name in CUSTOMER_FIELDS}
    for name, cls in nested.items():
        if full[name] is not None:
            full[name] = {f.name: full[name].get(f.name) for f in attrs.fields(cls)}
    return full


async def test_get_by_id(serve: Serve, sandbox: Sandbox) -> None:
    async with serve() as get:
        for record in (sandbox.records[0], sandbox.records[123], sandbox.records[-1]):
            reply = await get(f"/customers/{record.id}")
            assert reply.status == 200
            assert reply.headers["Content-Type"].startswith("application/json")
            assert reply.json() == as_exported(record)
        # One client for the app's lifetime: every request went through it.
        assert get.client.stats.requests == 3  # type: ignore[attr-defined]


async def test_get_by_state_id(serve: Serve, sandbox: Sandbox) -> None:
    # Plain ones, and ones holding a space or a slash (sent percent-encoded).
    records = [r for r in sandbox.records if r.state_id]
    plain = next(r for r in records if r.state_id.isalnum())  # type: ignore[union-attr]
    spaced = next(r for r in records if " " in r.state_id)  # type: ignore[operator]
    slashed = next(r for r in records if "/" in r.state_id)  # type: ignore[operator]
    async with serve() as get:
        for record in (plain, spaced, slashed):
            assert record.state_id is not None
            reply = await get(f"/customers/by-state-id/{quote(record.state_id, safe='')}")
            assert reply.status == 200, reply.body
            assert reply.json()["id"] == record.id


async def test_not_found_is_404(serve: Serve, sandbox: Sandbox) -> None:
    async with serve() as get:
        reply = await get(f"/customers/{max(sandbox.records.ids) + 1}")
        assert reply.status == 404
        assert reply.json() == {"error": "not_found", "message": "no such customer"}
        reply = await get("/customers/by-state-id/ZZ00000000")
        assert reply.status == 404


async def test_invalid_id_is_400(serve: Serve, sandbox: Sandbox) -> None:
    async with serve() as get:
        reply = await get("/customers/0")
        assert reply.status == 400
        assert reply.json()["error"] == "bad_request"
        assert sandbox.stats.requests == 0


async def test_export_streams_exactly_the_range(serve: Serve, sandbox: Sandbox) -> None:
    first, last = dt.date(2024, 3, 1), dt.date(2024, 8, 31)
    lo, hi = sandbox.records.created_range(first, last)
    expected = [as_exported(sandbox.records[i]) for i in range(lo, hi)]
    assert len(expected) > 100
    async with serve() as get:
        params = {"start_date": first.isoformat(), "end_date": last.isoformat()}
        reply = await get("/customers/export", params)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/x-ndjson")
    assert reply.body.endswith(b"\n")
    assert reply.lines() == expected


async def test_export_of_an_empty_range(serve: Serve, sandbox: Sandbox) -> None:
    async with serve() as get:
        reply = await get(
            "/customers/export", {"start_date": "2023-01-01", "end_date": "2023-01-31"}
        )
    assert (reply.status, reply.body) == (200, b"")


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2024-05-01", "end_date": "2024-04-01"},
        {"start_date": "2024-13-01", "end_date": "2024-12-31"},
    ],
    ids=["reversed", "not-a-date"],
)
async def test_export_bad_range_is_400(
    serve: Serve, sandbox: Sandbox, params: dict[str, str]
) -> None:
    async with serve() as get:
        reply = await get("/customers/export", params)
    assert reply.status == 400
    assert reply.json()["error"] == "bad_request"
    assert sandbox.stats.requests == 0


async def test_export_failing_midway_is_cut_short(serve: Serve) -> None:
    # June 1st holds more customers than the sandbox lets one request ask for: the walk
    # fails there, long after January's customers were sent with a 200.
    config = SandboxConfig(
        daily_counts={dt.date(2024, 1, 1): 3, dt.date(2024, 6, 1): 600}, max_limit=500
    )
    async with (
        Sandbox(config) as failing,
        serve(api_key=failing.api_key, base_url=failing.base_url) as get,
    ):
        with pytest.raises(BodyCutShortError):
            await get("/customers/export", {"start_date": "2024-01-01", "end_date": "2024-12-31"})


async def test_bad_key_is_502_without_the_key(serve: Serve, sandbox: Sandbox) -> None:
    async with serve(api_key=WRONG_KEY) as get:
        for path in (f"/customers/{sandbox.records[0].id}", "/customers/export"):
            reply = await get(path, {"start_date": "2024-01-01", "end_date": "2024-01-31"})
            assert reply.status == 502
            assert reply.json()["error"] == "upstream_refused"
            assert WRONG_KEY.encode() not in reply.body
            assert WRONG_KEY not in str(reply.headers)


async def test_basic_plan_is_502(serve: Serve) -> None:
    async with (
        Sandbox(SandboxConfig(customers=5, plan="basic")) as basic,
        serve(api_key=basic.api_key, base_url=basic.base_url) as get,
    ):
        reply = await get(f"/customers/{basic.records[0].id}")
    assert reply.status == 502
    assert reply.json()["error"] == "upstream_refused"


async def test_rate_limit_is_503_with_retry_after(serve: Serve) -> None:
    faults = FaultConfig(rate=1.0, kinds=["429_seconds"], retry_after=6.5)
    async with Sandbox(SandboxConfig(customers=5, faults=faults)) as limited:
        options = {"api_key": limited.api_key, "base_url": limited.base_url, "retry": 0}
        async with serve(**options) as get:
            reply = await get(f"/customers/{limited.records[0].id}")
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "7"
    assert reply.json()["error"] == "rate_limited"


async def test_server_errors_are_502(serve: Serve) -> None:
    faults = FaultConfig(rate=1.0, kinds=["503_html"])
    async with Sandbox(SandboxConfig(customers=5, faults=faults)) as broken:
        options = {"api_key": broken.api_key, "base_url": broken.base_url, "retry": 0}
        async with serve(**options) as get:
            reply = await get(f"/customers/{broken.records[0].id}")
    assert reply.status == 502
    assert reply.json() == {"error": "upstream_error", "message": "the customer service failed"}


async def test_startup_fails_without_a_key(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INDICA_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="INDICA_API_KEY"):
        async with serve():
            pass


@pytest.mark.parametrize("kind", ["503", "drop"])
async def test_a_failing_api_is_answered_within_the_request_budget(serve: Serve, kind: str) -> None:
    # The examples' own defaults (no client options from the test): a failing API costs
    # a web request at most REQUEST_RETRY's attempts, within its max_retry_time.
    module = load_example("aiohttp_app")
    budget = module.REQUEST_RETRY
    assert budget.max_retry_time <= 10 and module.REQUEST_TIMEOUT.total <= 10
    faults = FaultConfig(rate=1.0, kinds=[kind])
    async with Sandbox(SandboxConfig(customers=5, faults=faults)) as broken:
        options = {"api_key": broken.api_key, "base_url": broken.base_url}
        async with serve(**options) as get:
            began = time.monotonic()
            reply = await get(f"/customers/{broken.records[0].id}")
            elapsed = time.monotonic() - began
        attempts = broken.stats.requests
    assert reply.status == 502
    # Retried, but only within the budget (aiohttp itself resends a GET once on a
    # dropped connection, so a drop may count twice per attempt).
    tries = budget.max_retries + 1
    assert tries <= attempts <= (2 * tries if kind == "drop" else tries)
    assert elapsed < budget.max_retry_time


async def test_an_unreachable_api_is_answered_within_the_request_budget(serve: Serve) -> None:
    module = load_example("fastapi_app")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = {"api_key": "k" * 20, "base_url": f"http://127.0.0.1:{port}/open_api/v2.3"}
    async with serve(**options) as get:
        began = time.monotonic()
        reply = await get("/customers/5")
        elapsed = time.monotonic() - began
    assert reply.status == 502
    assert elapsed < module.REQUEST_RETRY.max_retry_time
