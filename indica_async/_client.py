"""`AsyncIndicaClient`: session ownership, the request path, the resource namespaces."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import aiohttp
import attrs
import yarl

from ._body import ACCEPT_ENCODING, CappedBody
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RESPONSE_SIZE,
    ENV_API_KEY,
    ENV_BASE_URL,
    RetryPolicy,
    Timeout,
)
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ClientStateError,
    ConfigurationError,
    IndicaError,
    InvalidArgumentError,
    RateLimitError,
    ResponseTooLargeError,
)
from ._ratelimit import RateLimitGate
from ._retry import build_retrying, is_transient
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
        retry: the retry policy; a number is its ``max_retries`` (retries after the
            first attempt of a transient failure), the rest left at the defaults.
        max_connections: requests in flight at most, across all calls of this client
            (also with a ``session`` of your own, whose connector limit is yours).
        max_response_size: bytes one response body may hold, after decompression;
            a larger one ends the call in `ResponseTooLargeError`.
        session: an ``aiohttp.ClientSession`` to use; the client never closes it.
        strict: raise `DecodeError` on fields the SDK does not know (API drift).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | Timeout | None = None,
        retry: int | RetryPolicy | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
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
        if type(max_response_size) is not int or max_response_size < 1:
            raise ConfigurationError("max_response_size must be an int of at least 1")
        # Only what CappedBody decompresses itself, in bounded steps.
        self._headers = {**build_headers(key), "Accept-Encoding": ACCEPT_ENCODING}
        self.base_url = check_base_url(base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        self.timeout = _as_timeout(timeout, ConfigurationError) or Timeout()
        if retry is None or isinstance(retry, RetryPolicy):
            policy = retry or RetryPolicy()
        elif type(retry) is int:
            policy = RetryPolicy(max_retries=retry)
        else:
            raise ConfigurationError("retry must be a RetryPolicy or an int (max_retries)")
        self.retry = policy
        self.max_connections = max_connections
        self.max_response_size = max_response_size
        self.strict = strict
        self.stats = ClientStats()
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        # One clock for the call's deadline, the gate and the retry waits.
        self._clock: Callable[[], float] = time.monotonic
        self._gate = RateLimitGate(clock=self._clock, max_wait=policy.max_retry_after)
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
        """Close the session the client created (never one passed in). Idempotent.

        Raises `ClientStateError`, and closes nothing, when awaited in another event
        loop than the one the client was used in: its sockets belong to that loop.
        """
        if self._closed:
            return
        if self._loop is not None and asyncio.get_running_loop() is not self._loop:
            raise ClientStateError(
                "aclose() was awaited in another event loop than the client was used in; "
                "await it in that loop (its connections belong there)"
            )
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
                # No connector limit: the client's own bound on requests in flight (the
                # semaphore, which holds with a caller's session too) is the only one.
                connector=aiohttp.TCPConnector(limit=0),
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

        # The call's one deadline: it bounds the waits between attempts, the wait at the
        # rate-limit gate and each attempt's own timeout alike.
        deadline = self._clock() + policy.max_retry_time
        shown = label or path
        try:
            # The first attempt runs before tenacity is set up: nearly every call
            # succeeds at once, and building a retry loop per call was half of the
            # client's own cost per request.
            try:
                return await self._send(session, url, shown, attempt_timeout, deadline)
            except IndicaError as exc:
                if not is_transient(exc):
                    raise
                failure: IndicaError | None = exc
            retrying = build_retrying(
                policy,
                deadline=deadline,
                clock=self._clock,
                description=f"GET {shown}",
                on_retry=retried,
            )
            async for attempt in retrying:
                with attempt:
                    if failure is not None:
                        # tenacity's first attempt is the one above, handed its failure:
                        # the policy then counts, waits, stops and logs as if it ran it.
                        first, failure = failure, None
                        raise first
                    return await self._send(session, url, shown, attempt_timeout, deadline)
        except _GateRefused as refused:
            turn = refused.turn
        else:
            raise AssertionError("unreachable: tenacity either returns or raises")
        # Outside tenacity: never retried (its turn is past the deadline) nor logged as
        # a 429 the server sent. Still a RateLimitError: the server's 429s caused it.
        raise RateLimitError(
            "rate limited: the client's own pacing after the server's 429s cannot send "
            "this request within the call's time budget (nothing was sent)",
            status=429,
            method="GET",
            path=shown,
            retry_after=turn,
        )

    async def _send(
        self,
        session: aiohttp.ClientSession,
        url: yarl.URL,
        path: str,
        timeout: Timeout,
        deadline: float,
    ) -> bytes:
        """One attempt: wait for a slot and the gate, send, read the body (capped).

        ``deadline`` (on the client's clock) ends the call's budget: waiting for a slot
        and for the gate counts against it (a turn that cannot come in time is a `RateLimitError`
        at once), and the attempt's own timeout is cut to what is left.
        """
        assert self._slots is not None
        await self._take_slot(self._slots, deadline, path)
        try:
            # Waiting inside the slot: the gate's pace counts requests actually sent.
            if not await self._gate.wait(deadline):
                raise _GateRefused(max(0.0, self._gate.next_start() - self._clock()))
            budget = deadline - self._clock()
            if budget <= 0:
                raise APITimeoutError(
                    "the call's time budget ran out waiting to send", method="GET", path=path
                )
            total = timeout.total if timeout.total is not None else budget
            client_timeout = aiohttp.ClientTimeout(
                total=min(total, budget), connect=timeout.connect
            )
            self.stats.requests += 1
            response = await self._fetch(session, url, path, client_timeout)
        finally:
            self._slots.release()
        status, retry_after, body = response
        error = error_for_status(
            status,
            method="GET",
            path=path,
            retry_after=retry_after,
            now=dt.datetime.now(dt.timezone.utc),
        )
        if error is None:
            self._gate.succeeded()
            return body
        if isinstance(error, RateLimitError):
            self.stats.rate_limited += 1
            # The gate caps the server's wait at max_retry_after (its max_wait): it holds
            # back every request of the client, so an uncapped Retry-After (an hour, or an
            # HTTP date rounded up to whole seconds) would stall them all beyond the policy.
            wait = (
                error.retry_after if error.retry_after is not None else self.retry.initial_backoff
            )
            self._gate.pause(wait)
        raise error

    async def _take_slot(self, slots: asyncio.Semaphore, deadline: float, path: str) -> None:
        """Take a request slot before ``deadline``, or raise `APITimeoutError`.

        The wait runs in a task of its own rather than under ``asyncio.wait_for``, which
        on Python 3.11 can lose a permit when a timeout or a cancellation races the
        grant: a slot granted to a wait already given up is released at once.
        """
        if not slots.locked():
            await slots.acquire()  # free: taken without suspending
            return
        acquire = asyncio.ensure_future(slots.acquire())
        acquired = False
        try:
            done, _ = await asyncio.wait({acquire}, timeout=max(0.0, deadline - self._clock()))
            acquired = bool(done) and not acquire.cancelled() and acquire.exception() is None
        finally:
            if not acquired:
                acquire.cancel()
                acquire.add_done_callback(_release_if_granted(slots))
        if not acquired:
            raise APITimeoutError(
                "the call's time budget ran out waiting for a free connection slot",
                method="GET",
                path=path,
            )

    async def _fetch(
        self,
        session: aiohttp.ClientSession,
        url: yarl.URL,
        path: str,
        timeout: aiohttp.ClientTimeout,
    ) -> tuple[int, str | None, bytes]:
        """Send one GET; return its status, Retry-After and body, or raise an SDK error.

        aiohttp's exceptions carry the request, and so the ``X-Api-Key`` header: none is
        raised from, nor while, handling one (``raise ... from None`` would still keep it
        on ``__context__``). Only the SDK's own error, built afterwards, leaves here.
        """
        failure: APIError | None = None
        body = CappedBody(self.max_response_size, None)
        try:
            # Never follow a redirect: aiohttp would resend X-Api-Key to whatever
            # origin (or plain-http URL) the Location names. A 3xx is an error here.
            # The body is decompressed by CappedBody, in bounded steps, not by aiohttp.
            async with session.get(
                url,
                headers=self._headers,
                timeout=timeout,
                allow_redirects=False,
                auto_decompress=False,
            ) as resp:
                if not 200 <= resp.status < 300:
                    # No error is built from its body (see error_for_status): it is never
                    # read nor decompressed, so a bad one cannot turn a 401 into a retry.
                    resp.release()
                    return resp.status, resp.headers.get("Retry-After"), b""
                body = CappedBody(self.max_response_size, resp.headers.get("Content-Encoding"))
                if (
                    body.encoded
                    or resp.content_length is None
                    or not body.over(resp.content_length)
                ):
                    # Each piece as the connection delivered it (at most a socket read):
                    # no copy, and no call per 64 KiB.
                    async for chunk, _ in resp.content.iter_chunks():
                        if not body.feed(chunk):
                            break
                data = body.finish()
                if data is not None:
                    return resp.status, resp.headers.get("Retry-After"), data
                resp.close()  # drop the connection: the rest of the body is never read
        except asyncio.TimeoutError:
            failure = APITimeoutError(
                f"no complete answer within {timeout.total:g} s", method="GET", path=path
            )
        except aiohttp.ClientPayloadError:
            failure = APIConnectionError("the response body was cut short", method="GET", path=path)
        except aiohttp.ClientError as exc:
            failure = APIConnectionError(
                f"connection failed ({type(exc).__name__})", method="GET", path=path
            )
        if failure is None:
            if body.too_large:
                failure = ResponseTooLargeError(self.max_response_size, method="GET", path=path)
            else:
                failure = APIConnectionError(
                    "the response body could not be decompressed", method="GET", path=path
                )
        raise failure


class _GateRefused(Exception):
    """The gate cannot give this request its turn by the call's deadline.

    Not an `IndicaError`, so tenacity does not retry it; `_get` turns it into the
    `RateLimitError` the caller sees.
    """

    def __init__(self, turn: float) -> None:
        super().__init__(turn)
        #: Seconds until the request's turn at the gate.
        self.turn = turn


def _release_if_granted(slots: asyncio.Semaphore) -> Callable[[asyncio.Future[Any]], None]:
    def release(acquire: asyncio.Future[Any]) -> None:
        if not acquire.cancelled() and acquire.exception() is None:
            slots.release()

    return release


def _as_timeout(value: float | Timeout | None, error: type[IndicaError]) -> Timeout | None:
    if value is None or isinstance(value, Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise error("timeout must be a positive number of seconds or a Timeout")
    return Timeout(total=float(value))
