"""`AsyncIndicaClient`: session ownership, the request path, the resource namespaces."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from types import TracebackType

import aiohttp
import attrs
import yarl

from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONNECTIONS,
    ENV_API_KEY,
    ENV_BASE_URL,
    RetryPolicy,
    Timeout,
)
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientStateError,
    ConfigurationError,
    IndicaError,
    InvalidArgumentError,
    RateLimitError,
)
from ._ratelimit import RateLimitGate
from ._retry import build_retrying
from ._sansio import build_headers, check_base_url, error_for_status
from .resources.customers import CustomersResource

logger = logging.getLogger("indica_async")


@attrs.define
class ClientStats:
    """Counters over the client's lifetime, across all calls."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0


class AsyncIndicaClient:
    """An asynchronous client for the IndicaOnline open API (v2.3).

    Use it as ``async with AsyncIndicaClient() as client: ...``, or call `aclose`.
    One client serves any number of concurrent calls: they share its connection
    pool, its bound on requests in flight and its rate-limit gate.

    Args:
        api_key: the business's API key; defaults to ``INDICA_API_KEY``.
        base_url: defaults to ``INDICA_BASE_URL``, then the vendor's URL. Plain
            ``http://`` is refused unless the host is loopback.
        timeout: per-attempt timeouts; a number is the total seconds of one attempt.
        max_retries: retries after the first attempt of a transient failure.
        retry: the whole retry policy (``max_retries``, if given, overrides its own).
        max_connections: requests in flight at most, across all calls of this client.
        session: an ``aiohttp.ClientSession`` to use; the client never closes it.
        strict: raise `DecodeError` on fields the SDK does not know (API drift).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        session: aiohttp.ClientSession | None = None,
        strict: bool = False,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get(ENV_API_KEY)
        if not key or not key.strip():
            raise ConfigurationError(
                f"no API key: pass api_key= or set the {ENV_API_KEY} environment variable"
            )
        if type(max_connections) is not int or max_connections < 1:
            raise ConfigurationError("max_connections must be an int of at least 1")
        self._api_key = key
        self._headers = build_headers(key)
        self.base_url = check_base_url(base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        self.timeout = _as_timeout(timeout, ConfigurationError) or Timeout()
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = attrs.evolve(policy, max_retries=max_retries)
        self.retry = policy
        self.max_connections = max_connections
        self.strict = strict
        self.stats = ClientStats()
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._gate = RateLimitGate()
        self._closed = False
        self.customers = CustomersResource(self._get, strict=strict)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<AsyncIndicaClient base_url={self.base_url!r} api_key=*** {state}>"

    # --- lifecycle ----------------------------------------------------------------

    async def __aenter__(self) -> AsyncIndicaClient:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        """True once `aclose` was called; a closed client is never reopened."""
        return self._closed

    async def aclose(self) -> None:
        """Close the session the client created (never one passed in). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientStateError("the client is closed; create a new AsyncIndicaClient")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            self._slots = asyncio.Semaphore(self.max_connections)
        elif loop is not self._loop:
            raise ClientStateError(
                "the client was opened in another event loop; create one client per loop"
            )
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections),
                # The client sets its own per-attempt timeout on every request.
                timeout=aiohttp.ClientTimeout(total=None),
                raise_for_status=False,
            )
        return self._session

    # --- requests -----------------------------------------------------------------

    async def _get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        on_retry: Callable[[], None] | None = None,
        label: str | None = None,
    ) -> bytes:
        """GET ``path`` with retries; return the body of its 2xx answer, undecoded.

        ``label`` stands for ``path`` in logs and on exceptions, where the path holds
        personal data (a state ID number).
        """
        session = self._open()
        policy = self.retry
        if max_retries is not None:
            try:
                policy = attrs.evolve(policy, max_retries=max_retries)
            except ConfigurationError as exc:
                raise InvalidArgumentError(str(exc)) from None
        attempt_timeout = _as_timeout(timeout, InvalidArgumentError) or self.timeout
        url = yarl.URL(self.base_url + path, encoded=True)
        if params:
            url = url.with_query(params)

        def retried() -> None:
            self.stats.retries += 1
            if on_retry is not None:
                on_retry()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.max_retry_time
        shown = label or path
        retrying = build_retrying(policy, description=f"GET {shown}", on_retry=retried)
        async for attempt in retrying:
            with attempt:
                return await self._send(session, url, shown, attempt_timeout, deadline)
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _send(
        self,
        session: aiohttp.ClientSession,
        url: yarl.URL,
        path: str,
        timeout: Timeout,
        deadline: float,
    ) -> bytes:
        """One attempt: wait for a slot and the gate, send, read the whole body.

        ``deadline`` (loop time) ends the call's budget: waiting for a slot or for the
        gate counts against it, and the attempt's own timeout is cut to what is left.
        """
        assert self._slots is not None
        loop = asyncio.get_running_loop()
        async with self._slots:
            # Waiting inside the slot: the gate's pace counts requests actually sent.
            await self._gate.wait()
            budget = deadline - loop.time()
            if budget <= 0:
                raise APITimeoutError(
                    "the call's time budget ran out waiting to send", method="GET", path=path
                )
            total = timeout.total if timeout.total is not None else budget
            client_timeout = aiohttp.ClientTimeout(
                total=min(total, budget), connect=timeout.connect
            )
            self.stats.requests += 1
            try:
                # Never follow a redirect: aiohttp would resend X-Api-Key to whatever
                # origin (or plain-http URL) the Location names. A 3xx is an error here.
                async with session.get(
                    url, headers=self._headers, timeout=client_timeout, allow_redirects=False
                ) as resp:
                    body = await resp.read()
                    status = resp.status
                    retry_after = resp.headers.get("Retry-After")
            except asyncio.TimeoutError:
                raise APITimeoutError(
                    f"no complete answer within {client_timeout.total:g} s", method="GET", path=path
                ) from None
            except aiohttp.ClientPayloadError:
                raise APIConnectionError(
                    "the response body was cut short", method="GET", path=path
                ) from None
            except aiohttp.ClientError as exc:
                raise APIConnectionError(
                    f"connection failed ({type(exc).__name__})", method="GET", path=path
                ) from None
        error = error_for_status(
            status,
            body,
            method="GET",
            path=path,
            retry_after=retry_after,
            now=dt.datetime.now(dt.timezone.utc),
            redact=(self._api_key,),
        )
        if error is None:
            self._gate.succeeded()
            return body
        if isinstance(error, RateLimitError):
            self.stats.rate_limited += 1
            # The server's wait is honoured up to max_retry_after here too: the gate holds
            # back every request of the client, so an uncapped Retry-After (an hour, or an
            # HTTP date rounded up to whole seconds) would stall them all beyond the policy.
            wait = (
                error.retry_after if error.retry_after is not None else self.retry.initial_backoff
            )
            self._gate.pause(min(wait, self.retry.max_retry_after))
        raise error


def _as_timeout(value: float | Timeout | None, error: type[IndicaError]) -> Timeout | None:
    if value is None or isinstance(value, Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise error("timeout must be a positive number of seconds or a Timeout")
    return Timeout(total=float(value))
