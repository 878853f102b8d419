"""An aiohttp.web service in front of the IndicaOnline customers API.

One `AsyncIndicaClient` serves the whole application: a ``cleanup_ctx`` opens it at
startup and closes it at shutdown, so every request shares its connection pool, its
bound on requests in flight and its rate-limit state.

    GET /customers/{id}                          one customer, as JSON
    GET /customers/by-state-id/{state_id}        one customer, by state ID number
    GET /customers/export?start_date=&end_date=  every customer created in the range,
                                                 streamed as NDJSON (one object a line)

The client reads ``INDICA_API_KEY`` and ``INDICA_BASE_URL`` from the environment. Run:

    pip install indica-async
    INDICA_API_KEY=... python aiohttp_app.py          # serves on 127.0.0.1:8080 ($PORT)
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from indica_async import (
    APIError,
    APITimeoutError,
    AsyncIndicaClient,
    AuthenticationError,
    Customer,
    IndicaError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    Timeout,
    customer_to_dict,
)

logger = logging.getLogger("customers_service")

#: Seconds a caller is told to wait when the API rate-limits us without saying how long.
DEFAULT_RETRY_AFTER = 5
#: Bytes of NDJSON sent at once by an export: fewer, larger writes than one per line.
CHUNK_BYTES = 64 * 1024
#: A web request waits for the API within a request-sized budget: each attempt at most
#: `REQUEST_TIMEOUT`, and all attempts and waits together at most `REQUEST_RETRY`'s
#: ``max_retry_time``. When the API is down the caller gets a 502/504 in seconds, not
#: after the SDK's batch-job defaults (5 retries within 180 s).
REQUEST_TIMEOUT = Timeout(connect=2.0, total=5.0)
REQUEST_RETRY = RetryPolicy(
    max_retries=2, max_retry_time=8.0, initial_backoff=0.2, max_backoff=1.0, max_retry_after=2.0
)

INDICA_CLIENT = web.AppKey("indica_client", AsyncIndicaClient)
CLIENT_OPTIONS: web.AppKey[dict[str, Any]] = web.AppKey("indica_client_options")

routes = web.RouteTableDef()


def create_app(**client_options: Any) -> web.Application:
    """The application; ``client_options`` go to `AsyncIndicaClient` (tests use them),
    over the request-sized budget."""
    client_options = {"timeout": REQUEST_TIMEOUT, "retry": REQUEST_RETRY, **client_options}
    app = web.Application(middlewares=[indica_errors])
    app[CLIENT_OPTIONS] = client_options
    app.cleanup_ctx.append(indica_client_ctx)
    app.add_routes(routes)
    return app


async def indica_client_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the application's one client at startup, close it at cleanup."""
    # Raises ConfigurationError (and so stops the startup) when INDICA_API_KEY is unset.
    async with AsyncIndicaClient(**app[CLIENT_OPTIONS]) as client:
        app[INDICA_CLIENT] = client
        yield


def customer_json(customer: Customer) -> bytes:
    """A customer as the API's JSON: dates as YYYY-MM-DD, enums as their strings."""
    return orjson.dumps(customer_to_dict(customer))


def ndjson_line(customer: Customer) -> bytes:
    """A customer as one line of NDJSON."""
    return orjson.dumps(customer_to_dict(customer), option=orjson.OPT_APPEND_NEWLINE)


def json_response(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


# Registered before /customers/{customer_id}, which would otherwise take "export" as an id.
@routes.get("/customers/export")
async def export_customers(request: web.Request) -> web.StreamResponse:
    """Every customer created from ``start_date`` to ``end_date``, as NDJSON."""
    client = request.app[INDICA_CLIENT]
    # A missing or bad date or range raises InvalidArgumentError here, before any request.
    customers = client.customers.iterate(
        start_date=request.query.get("start_date", ""), end_date=request.query.get("end_date", "")
    )
    try:
        # Wait for the first customer before answering: a failure of the first request
        # (bad key, rate limit) still becomes an error status instead of an empty 200.
        first = await anext(customers, None)
        response = web.StreamResponse()
        response.content_type = "application/x-ndjson"
        await response.prepare(request)
        try:
            async for chunk in ndjson(first, customers):
                await response.write(chunk)
        except IndicaError as exc:
            # The 200 is sent: raising cuts the connection, so the caller sees an
            # incomplete body, never a complete-looking one.
            logger.error("export failed after it started: %s", exc)
            raise ExportInterruptedError("the export failed midway") from exc
        except ConnectionResetError:
            logger.info("the caller hung up; export stopped")
            return response  # aiohttp sees the connection is gone and sends nothing more
        await response.write_eof()
        return response
    finally:
        # Also when the caller hangs up: cancels the export's requests still in flight.
        await customers.aclose()


async def ndjson(
    first: Customer | None, customers: AsyncIterator[Customer]
) -> AsyncIterator[bytes]:
    """The export's body, in chunks of about `CHUNK_BYTES`."""
    chunk = bytearray(ndjson_line(first) if first is not None else b"")
    async for customer in customers:
        chunk += ndjson_line(customer)
        if len(chunk) >= CHUNK_BYTES:
            yield bytes(chunk)
            chunk.clear()
    if chunk:
        yield bytes(chunk)


class ExportInterruptedError(Exception):
    """An export failed after its status was sent; the server then drops the connection."""


@routes.get("/customers/by-state-id/{state_id}")
async def get_customer_by_state_id(request: web.Request) -> web.Response:
    """One customer, by state ID number (a slash in it comes percent-encoded, %2F)."""
    client = request.app[INDICA_CLIENT]
    customer = await client.customers.get_by_state_id(request.match_info["state_id"])
    return json_response(customer_json(customer))


@routes.get("/customers/{customer_id}")
async def get_customer(request: web.Request) -> web.Response:
    """One customer, by id."""
    raw = request.match_info["customer_id"]
    if not raw.isdigit():
        raise InvalidArgumentError(f"customer id must be a positive integer, got {raw!r}")
    customer = await request.app[INDICA_CLIENT].customers.get(int(raw))
    return json_response(customer_json(customer))


def describe_error(exc: IndicaError) -> tuple[int, str, str, dict[str, str]]:
    """Status, error code, message and headers for an SDK error.

    Messages are fixed texts, except for the caller's own invalid arguments: an upstream
    body excerpt stays in the logs (the SDK never puts the API key in an exception).
    """
    if isinstance(exc, NotFoundError):
        return 404, "not_found", "no such customer", {}
    if isinstance(exc, InvalidArgumentError):
        return 400, "bad_request", str(exc), {}
    if isinstance(exc, RateLimitError):
        wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
        headers = {"Retry-After": str(max(1, math.ceil(wait)))}
        return 503, "rate_limited", "the customer service is busy; retry later", headers
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        logger.error("IndicaOnline refused our credentials or plan: %s", exc)
        return 502, "upstream_refused", "the customer service is misconfigured", {}
    if isinstance(exc, APITimeoutError):
        return 504, "upstream_timeout", "the customer service did not answer in time", {}
    if isinstance(exc, APIError):
        logger.warning("IndicaOnline request failed: %s", exc)
        return 502, "upstream_error", "the customer service failed", {}
    logger.error("unexpected SDK error: %s", exc)
    return 500, "internal_error", "internal error", {}


@web.middleware
async def indica_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn an SDK error raised by a handler into a JSON error response."""
    try:
        return await handler(request)
    except IndicaError as exc:
        status, error, message, headers = describe_error(exc)
        body = orjson.dumps({"error": error, "message": message})
        return web.Response(
            status=status, body=body, content_type="application/json", headers=headers
        )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    web.run_app(create_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
