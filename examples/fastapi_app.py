"""A FastAPI service in front of the IndicaOnline customers API.

One `AsyncIndicaClient` serves the whole application: the lifespan opens it at startup
and closes it at shutdown, so every request shares its connection pool, its bound on
requests in flight and its rate-limit state.

    GET /customers/{id}                          one customer, as JSON
    GET /customers/by-state-id/{state_id}        one customer, by state ID number
    GET /customers/export?start_date=&end_date=  every customer created in the range,
                                                 streamed as NDJSON (one object a line)

The client reads ``INDICA_API_KEY`` and ``INDICA_BASE_URL`` from the environment. Run:

    pip install indica-async fastapi uvicorn
    INDICA_API_KEY=... uvicorn fastapi_app:app        # from this directory
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

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

router = APIRouter()


def create_app(**client_options: Any) -> FastAPI:
    """The application; ``client_options`` go to `AsyncIndicaClient` (tests use them),
    over the request-sized budget."""
    client_options = {"timeout": REQUEST_TIMEOUT, "retry": REQUEST_RETRY, **client_options}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Raises ConfigurationError (and so stops the startup) when INDICA_API_KEY is unset.
        async with AsyncIndicaClient(**client_options) as client:
            app.state.indica = client
            yield

    app = FastAPI(title="customers", lifespan=lifespan)
    app.add_exception_handler(IndicaError, indica_error_handler)
    app.include_router(router)
    return app


def get_client(request: Request) -> AsyncIndicaClient:
    """The application's one client."""
    client: AsyncIndicaClient = request.app.state.indica
    return client


Client = Annotated[AsyncIndicaClient, Depends(get_client)]


def customer_json(customer: Customer) -> bytes:
    """A customer as the API's JSON: dates as YYYY-MM-DD, enums as their strings."""
    return orjson.dumps(customer_to_dict(customer))


def ndjson_line(customer: Customer) -> bytes:
    """A customer as one line of NDJSON."""
    return orjson.dumps(customer_to_dict(customer), option=orjson.OPT_APPEND_NEWLINE)


# Declared before /customers/{customer_id}, which would otherwise take "export" as an id.
@router.get("/customers/export")
async def export_customers(client: Client, start_date: str, end_date: str) -> StreamingResponse:
    """Every customer created from ``start_date`` to ``end_date``, as NDJSON."""
    # A bad date or range raises InvalidArgumentError here, before any request.
    customers = client.customers.iterate(start_date=start_date, end_date=end_date)
    try:
        # Wait for the first customer before answering: a failure of the first request
        # (bad key, rate limit) still becomes an error status instead of an empty 200.
        first = await anext(customers, None)
    except BaseException:
        await customers.aclose()
        raise
    return StreamingResponse(ndjson(first, customers), media_type="application/x-ndjson")


async def ndjson(
    first: Customer | None, customers: AsyncGenerator[Customer, None]
) -> AsyncIterator[bytes]:
    """The export's body, in chunks of about `CHUNK_BYTES`.

    A failure after the first chunk cuts the connection (the 200 is already sent), so the
    caller sees an incomplete body, never a complete-looking one.
    """
    try:
        chunk = bytearray(ndjson_line(first) if first is not None else b"")
        async for customer in customers:
            chunk += ndjson_line(customer)
            if len(chunk) >= CHUNK_BYTES:
                yield bytes(chunk)
                chunk.clear()
        if chunk:
            yield bytes(chunk)
    except IndicaError as exc:
        logger.error("export failed after it started: %s", exc)
        raise ExportInterruptedError("the export failed midway; the body is incomplete") from exc
    finally:
        # Also when the caller hangs up: cancels the export's requests still in flight.
        await customers.aclose()


class ExportInterruptedError(Exception):
    """An export failed after its status was sent; the server then drops the connection."""


@router.get("/customers/by-state-id/{state_id:path}")
async def get_customer_by_state_id(client: Client, state_id: str) -> Response:
    """One customer, by state ID number (which may hold a slash, hence ``:path``)."""
    customer = await client.customers.get_by_state_id(state_id)
    return Response(customer_json(customer), media_type="application/json")


@router.get("/customers/{customer_id}")
async def get_customer(client: Client, customer_id: int) -> Response:
    """One customer, by id."""
    customer = await client.customers.get(customer_id)
    return Response(customer_json(customer), media_type="application/json")


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


async def indica_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Turn an SDK error raised by a route into a JSON error response."""
    assert isinstance(exc, IndicaError)  # registered for IndicaError only
    status, error, message, headers = describe_error(exc)
    return JSONResponse({"error": error, "message": message}, status, headers=headers)


app = create_app()
