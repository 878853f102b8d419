"""AsyncIndicaClient at the HTTP level, with aioresponses: exact requests, statuses, retries."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import re
import threading
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

import indica_async
from indica_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncIndicaClient,
    AuthenticationError,
    BadRequestError,
    ClientStateError,
    ConfigurationError,
    Customer,
    DecodeError,
    IndicaError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    Timeout,
    _ratelimit,
)

BASE = "https://api.test/open_api/v2.3"
KEY = "test-secret-key-0123456789"
SAMPLE = json.loads((Path(__file__).parent / "samples" / "vendor_customer.json").read_text())
LIST_URL = re.compile(r"^https://api\.test/open_api/v2\.3/customers\?.*$")
FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.02)


@pytest.fixture
def http() -> Iterator[aioresponses]:
    with aioresponses() as mocked:
        yield mocked


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every SDK wait, recorded instead of slept."""
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(_ratelimit, "sleep", fake_sleep)
    return waited


@pytest.fixture
async def client() -> AsyncIterator[AsyncIndicaClient]:
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=FAST) as c:
        yield c


def calls(http: aioresponses) -> list[tuple[str, URL, dict[str, Any]]]:
    return [(m, u, c.kwargs) for (m, u), cs in http.requests.items() for c in cs]


# --- construction ----------------------------------------------------------------


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INDICA_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="INDICA_API_KEY"):
        AsyncIndicaClient()
    with pytest.raises(ConfigurationError):
        AsyncIndicaClient("   ")


def test_key_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDICA_API_KEY", KEY)
    monkeypatch.setenv("INDICA_BASE_URL", "http://127.0.0.1:9/open_api/v2.3/")
    client = AsyncIndicaClient()
    assert client.base_url == "http://127.0.0.1:9/open_api/v2.3"
    monkeypatch.delenv("INDICA_BASE_URL")
    assert AsyncIndicaClient().base_url == indica_async.DEFAULT_BASE_URL


def test_clear_text_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="clear text"):
        AsyncIndicaClient(KEY, base_url="http://api.indicaonline.com/open_api/v2.3")


def test_repr_hides_the_key() -> None:
    client = AsyncIndicaClient(KEY, base_url=BASE)
    assert KEY not in repr(client) and "***" in repr(client)


def test_bad_settings_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        AsyncIndicaClient(KEY, timeout=-1)
    with pytest.raises(ConfigurationError):
        AsyncIndicaClient(KEY, max_connections=0)
    for bad_retry in (-1, True, 1.5, "3"):
        with pytest.raises(ConfigurationError):
            AsyncIndicaClient(KEY, retry=bad_retry)  # type: ignore[arg-type]


def test_retry_is_the_one_knob_for_the_retry_policy() -> None:
    assert AsyncIndicaClient(KEY, retry=3).retry == RetryPolicy(max_retries=3)
    policy = RetryPolicy(max_retries=1, max_retry_time=9)
    assert AsyncIndicaClient(KEY, retry=policy).retry is policy
    assert AsyncIndicaClient(KEY).retry == RetryPolicy()
    with pytest.raises(TypeError):
        AsyncIndicaClient(KEY, max_retries=3)  # type: ignore[call-arg]


# --- requests --------------------------------------------------------------------


async def test_get_sends_key_accept_and_user_agent(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    http.get(f"{BASE}/customers/12345", payload=SAMPLE)
    customer = await client.customers.get(12345)
    assert isinstance(customer, Customer) and customer.id == 12345
    [(method, url, kwargs)] = calls(http)
    assert method == "GET" and str(url) == f"{BASE}/customers/12345"
    assert kwargs["headers"]["X-Api-Key"] == KEY
    assert kwargs["headers"]["Accept"] == "application/json"
    assert kwargs["headers"]["User-Agent"] == f"indica-async/{indica_async.__version__}"


async def test_timeouts_have_defaults_and_per_call_overrides(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    http.get(f"{BASE}/customers/1", payload=SAMPLE, repeat=True)
    await client.customers.get(1)
    await client.customers.get(1, timeout=2.5)
    await client.customers.get(1, timeout=Timeout(connect=1, total=3))
    timeouts = [kwargs["timeout"] for _, _, kwargs in calls(http)]
    assert (timeouts[0].total, timeouts[0].connect) == (60.0, 10.0)
    assert timeouts[1].total == 2.5
    assert (timeouts[2].total, timeouts[2].connect) == (3, 1)


async def test_list_sends_the_window_and_accepts_both_envelopes(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    http.get(LIST_URL, payload=[SAMPLE])
    http.get(LIST_URL, payload={"data": [SAMPLE, {"id": 7}]})
    first = await client.customers.list(start_date="2025-01-01", end_date="2025-01-31", limit=50)
    second = await client.customers.list(start_date="2025-01-01", end_date="2025-01-31")
    assert [c.id for c in first] == [12345]
    assert [c.id for c in second] == [12345, 7]
    url = calls(http)[0][1]
    assert dict(url.query) == {"start_date": "2025-01-01", "end_date": "2025-01-31", "limit": "50"}


async def test_list_of_another_shape_names_its_type_never_its_keys(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    http.get(LIST_URL, payload={"customers": [], "count": 0})
    with pytest.raises(DecodeError, match="got `object`") as info:
        await client.customers.list(start_date="2025-01-01", end_date="2025-01-31")
    assert info.value.method == "GET" and info.value.path == "/customers"
    assert "customers" not in str(info.value).replace("/customers", "")
    assert "count" not in str(info.value)


async def test_bad_arguments_raise_before_any_request(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    bad_calls = [
        client.customers.get(0),
        client.customers.get(True),  # type: ignore[arg-type]
        client.customers.get("12"),  # type: ignore[arg-type]
        client.customers.get_by_state_id(""),
        client.customers.list(start_date="2025-02-01", end_date="2025-01-01"),
        client.customers.list(start_date="2025-13-01", end_date="2025-12-01"),
        client.customers.list(start_date="2025-01-01", end_date="2025-01-02", limit=0),
    ]
    for call in bad_calls:
        with pytest.raises(InvalidArgumentError):
            await call
    with pytest.raises(InvalidArgumentError):
        client.customers.iterate(start_date="2025-01-02", end_date="2025-01-01")
    assert calls(http) == []


async def test_invalid_json_and_wrong_types_are_decode_errors(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    http.get(f"{BASE}/customers/1", body="<html>oops</html>", content_type="text/html")
    http.get(f"{BASE}/customers/2", payload={"id": 2, "email": 5, "phone": "555-867-5309"})
    with pytest.raises(DecodeError, match="not valid JSON"):
        await client.customers.get(1)
    with pytest.raises(DecodeError) as info:
        await client.customers.get(2)
    assert info.value.field == "$.email" and info.value.path == "/customers/2"


# --- status errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (422, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
    ],
)
async def test_client_errors_are_mapped_and_never_retried(
    http: aioresponses,
    client: AsyncIndicaClient,
    sleeps: list[float],
    status: int,
    cls: type[Exception],
) -> None:
    http.get(f"{BASE}/customers/5", status=status, payload={"error": "nope"}, repeat=True)
    with pytest.raises(cls) as info:
        await client.customers.get(5)
    error = info.value
    assert isinstance(error, indica_async.APIStatusError)
    assert (error.status, error.method, error.path) == (status, "GET", "/customers/5")
    assert "nope" not in str(error) and not hasattr(error, "body")  # the body is the server's
    assert len(calls(http)) == 1 and sleeps == []


async def test_transient_failures_are_retried_then_succeed(
    http: aioresponses,
    client: AsyncIndicaClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"{BASE}/customers/9"
    http.get(url, status=503, body="<html>busy</html>")
    http.get(url, status=500)
    http.get(url, status=502)
    http.get(url, status=504)
    http.get(url, exception=aiohttp.ServerDisconnectedError())
    http.get(url, payload=SAMPLE)
    caplog.set_level(logging.WARNING, logger="indica_async")
    assert (await client.customers.get(9)).id == 12345
    assert len(calls(http)) == 6 and len(sleeps) == 5
    assert client.stats.retries == 5
    messages = [r.getMessage() for r in caplog.records if r.name == "indica_async"]
    assert len(messages) == 5
    assert "attempt 1 of 6 failed: 503 ServerError" in messages[0]
    assert "ServerDisconnectedError" not in messages[4]  # mapped to the SDK's class
    assert "APIConnectionError" in messages[4]
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "indica_async")


async def test_backoff_grows_and_stops_after_max_retries(
    http: aioresponses, sleeps: list[float]
) -> None:
    policy = RetryPolicy(max_retries=3, initial_backoff=1.0, max_backoff=3.0)
    http.get(f"{BASE}/customers/9", status=503, repeat=True)
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=policy) as client:
        with pytest.raises(ServerError) as info:
            await client.customers.get(9)
    assert info.value.status == 503
    assert len(calls(http)) == 4
    assert len(sleeps) == 3
    assert 1.0 <= sleeps[0] <= 2.0 and 2.0 <= sleeps[1] <= 3.0 and sleeps[2] == 3.0


async def test_per_call_max_retries(
    http: aioresponses, client: AsyncIndicaClient, sleeps: list[float]
) -> None:
    http.get(f"{BASE}/customers/9", status=500, repeat=True)
    with pytest.raises(ServerError):
        await client.customers.get(9, max_retries=0)
    assert len(calls(http)) == 1 and sleeps == []


async def test_retry_after_in_seconds_is_honoured_and_capped(
    http: aioresponses, sleeps: list[float]
) -> None:
    http.get(f"{BASE}/customers/1", status=429, headers={"Retry-After": "7"})
    http.get(f"{BASE}/customers/1", status=429, headers={"Retry-After": "3600"})
    http.get(f"{BASE}/customers/1", payload=SAMPLE)
    policy = RetryPolicy(max_retry_after=30.0)
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=policy) as client:
        await client.customers.get(1)
        assert client.stats.rate_limited == 2
    # Each retry waits the server's time (capped); the shared gate then finds it passed.
    assert sleeps[0] == 7.0
    assert 30.0 in sleeps and 3600.0 not in sleeps


async def test_retry_after_as_an_http_date(http: aioresponses, sleeps: list[float]) -> None:
    when = "Wed, 21 Oct 2099 07:28:00 GMT"
    http.get(f"{BASE}/customers/1", status=429, headers={"Retry-After": when})
    http.get(f"{BASE}/customers/1", payload=SAMPLE)
    async with AsyncIndicaClient(KEY, base_url=BASE) as client:
        await client.customers.get(1)
    assert sleeps[0] == 60.0  # far future: capped at the default maximum


async def test_rate_limit_error_after_retries_carries_retry_after(
    http: aioresponses, sleeps: list[float]
) -> None:
    http.get(f"{BASE}/customers/1", status=429, headers={"Retry-After": "2"}, repeat=True)
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=2) as client:
        with pytest.raises(RateLimitError) as info:
            await client.customers.get(1)
    assert info.value.retry_after == 2.0 and len(calls(http)) == 3


async def test_a_429_pauses_every_request_of_the_client(http: aioresponses) -> None:
    http.get(f"{BASE}/customers/1", status=429, headers={"Retry-After": "0.3"})
    http.get(f"{BASE}/customers/1", payload=SAMPLE)
    http.get(f"{BASE}/customers/2", payload=SAMPLE)
    async with AsyncIndicaClient(KEY, base_url=BASE) as client:
        loop = asyncio.get_running_loop()
        first = asyncio.create_task(client.customers.get(1))
        await asyncio.sleep(0.05)  # the 429 has been seen and the gate is closed
        started = loop.time()
        await client.customers.get(2)
        assert loop.time() - started >= 0.2  # another request waited for the gate
        await first


@pytest.mark.parametrize(
    ("exception", "cls"),
    [
        (aiohttp.ClientConnectionError("reset"), APIConnectionError),
        (aiohttp.ClientPayloadError("cut short"), APIConnectionError),
        (asyncio.TimeoutError(), APITimeoutError),
        (aiohttp.ServerTimeoutError(), APITimeoutError),
    ],
)
async def test_network_failures_map_to_sdk_errors_after_retries(
    http: aioresponses, sleeps: list[float], exception: Exception, cls: type[Exception]
) -> None:
    http.get(f"{BASE}/customers/1", exception=exception, repeat=True)
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=2) as client:
        with pytest.raises(cls) as info:
            await client.customers.get(1)
    assert type(info.value) is cls
    assert len(calls(http)) == 3 and len(sleeps) == 2


async def test_total_retry_time_is_bounded(http: aioresponses) -> None:
    http.get(f"{BASE}/customers/1", status=503, repeat=True)
    policy = RetryPolicy(max_retries=1000, max_retry_time=0.5, initial_backoff=0.1, max_backoff=0.1)
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=policy) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ServerError):
            await client.customers.get(1)
        assert loop.time() - started < 0.9
    assert 2 <= len(calls(http)) < 20


async def test_the_wait_for_a_connection_slot_counts_against_the_call_budget(
    http: aioresponses,
) -> None:
    # Every slot is busy (held here, as a slow request would) for longer than the call's
    # budget: the call ends in APITimeoutError at its deadline, without sending, and the
    # permit it never got is not lost (nor one taken twice).
    http.get(f"{BASE}/customers/1", payload=SAMPLE, repeat=True)
    policy = RetryPolicy(max_retries=0, max_retry_time=0.2)
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=policy, max_connections=1) as client:
        slots = client._slots
        assert slots is not None
        await slots.acquire()
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(APITimeoutError, match="slot"):
            await client.customers.get(1)
        assert loop.time() - started < 1.0
        assert calls(http) == []
        slots.release()
        assert not slots.locked()
        assert (await client.customers.get(1)).id == SAMPLE["id"]
        assert not slots.locked()


@pytest.mark.parametrize("grant_first", [False, True])
async def test_a_call_cancelled_while_waiting_for_a_slot_loses_no_permit(
    http: aioresponses, grant_first: bool
) -> None:
    # Cancelled while queued for a slot, and (grant_first) just after the slot was
    # handed to it but before it ran: either way the permit goes back, so the client
    # keeps its max_connections slots.
    http.get(f"{BASE}/customers/1", payload=SAMPLE, repeat=True)
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=FAST, max_connections=1) as client:
        slots = client._slots
        assert slots is not None
        await slots.acquire()
        call = asyncio.ensure_future(client.customers.get(1))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not call.done()  # queued behind the held slot
        if grant_first:
            slots.release()  # the waiter is granted the slot, and cancelled at once
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert call.cancelled()
        if not grant_first:
            slots.release()
        for _ in range(5):
            await asyncio.sleep(0)
        assert not slots.locked()
        assert calls(http) == []
        assert (await client.customers.get(1)).id == SAMPLE["id"]
        assert not slots.locked()


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (404, NotFoundError), (400, BadRequestError)],
)
@pytest.mark.parametrize("body", [b"", b"not gzip at all"], ids=["empty", "garbage"])
async def test_an_error_body_is_never_read_so_a_bad_one_changes_nothing(
    http: aioresponses, status: int, error: type[IndicaError], body: bytes
) -> None:
    # A 401 with Content-Encoding: gzip and an empty (or broken) body was judged a
    # corrupt body: APIConnectionError, retried, instead of the status's own error.
    http.get(
        f"{BASE}/customers/1",
        status=status,
        body=body,
        headers={"Content-Encoding": "gzip"},
        repeat=True,
    )
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=FAST) as client:
        with pytest.raises(error) as info:
            await client.customers.get(1)
        assert info.value.status == status  # type: ignore[attr-defined]
        assert client.stats.retries == 0
    assert len(calls(http)) == 1


# --- secrets ---------------------------------------------------------------------


HOSTILE_KEY = "sk-indica-live-9f2c7e1a5b3d4f60aa71"
SLASHED_KEY = "sk-live/9f2c7e1a5b3d/4f60aa71"
STATE_ID = "CA-D8675309"


def everything_about(error: BaseException) -> str:
    """All an exception could show: str, repr, args, attributes and the traceback."""
    try:
        raise error
    except BaseException as raised:
        shown = traceback.format_exception(type(raised), raised, raised.__traceback__)
    return "\n".join([str(error), repr(error), repr(error.args), repr(vars(error)), *shown])


def _straddling(offset: int) -> bytes:
    # The key starts a few bytes before ``offset``: a redaction that reads only the
    # first ``offset`` bytes would cut it and leak its prefix.
    return b"x" * (offset - 10) + HOSTILE_KEY.encode() + b" trailing"


HOSTILE_BODIES = {
    "echoed state id": f'{{"error":"no customer with state_id {STATE_ID}"}}'.encode(),
    "key straddling byte 800": _straddling(800),
    "key straddling byte 200": _straddling(200),
    "JSON-escaped key": ('{"key":"' + HOSTILE_KEY.replace("-", "\\u002d") + '"}').encode(),
    "key with escaped slashes": ('{"key":"' + SLASHED_KEY.replace("/", "\\/") + '"}').encode(),
    "key in a header-ish line": f"GET /customers\r\nX-Api-Key: {HOSTILE_KEY}\r\n\r\n".encode(),
    "key as a quoted header": f"{{'X-Api-Key': '{HOSTILE_KEY}'}}".encode(),
    "a page of customers": b"["
    + b",".join(b'{"id":%d,"email":"person%d@example.com"}' % (i, i) for i in range(50))
    + b"]",
    "html page": b"<html><body><h1>Bad Gateway</h1><p>person1@example.com</p></body></html>",
}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 418, 422, 429, 500, 503])
@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
async def test_nothing_the_server_sent_reaches_an_error(
    http: aioresponses, status: int, name: str
) -> None:
    # Moved from the sans-I/O tests when error_for_status stopped taking a body: the
    # client never reads an error body, so none of it can reach the error.
    http.get(
        f"{BASE}/customers/state-id/{STATE_ID}",
        status=status,
        body=HOSTILE_BODIES[name],
        headers={"Retry-After": "1"},
    )
    policy = RetryPolicy(max_retries=0)
    async with AsyncIndicaClient(HOSTILE_KEY, base_url=BASE, retry=policy) as client:
        with pytest.raises(indica_async.APIStatusError) as info:
            await client.customers.get_by_state_id(STATE_ID)
    error = info.value
    text = everything_about(error)
    copied = everything_about(pickle.loads(pickle.dumps(error)))
    for shown in (text, copied):
        # Neither the key, nor any run of 8 of its characters, nor the state ID.
        for key in (HOSTILE_KEY, SLASHED_KEY):
            assert not any(key[i : i + 8] in shown for i in range(len(key) - 7)), name
        assert STATE_ID not in shown and "8675309" not in shown
        assert "@example.com" not in shown and "Bad Gateway" not in shown
        assert "/customers/state-id/{state_id}" in shown  # what the SDK knows is there
    assert str(error).startswith(f"{status} ")
    assert error.args == (error.message,)
    assert not hasattr(error, "body")


async def test_the_key_appears_in_no_error_and_no_log(
    http: aioresponses, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    http.get(f"{BASE}/customers/1", status=401, body=f"bad key {KEY}")
    http.get(f"{BASE}/customers/2", status=503, body=f"echo {KEY}", repeat=True)
    errors: list[BaseException] = []
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=1) as client:
        for customer_id in (1, 2):
            with pytest.raises(IndicaError) as info:
                await client.customers.get(customer_id)
            errors.append(info.value)
    assert len(errors) == 2
    for error in errors:
        assert KEY not in str(error) and KEY not in repr(error)
        assert "bad key" not in str(error) and "echo" not in str(error)  # no body at all
    assert caplog.records  # the retry was logged
    assert all(KEY not in r.getMessage() for r in caplog.records)


# --- lifecycle -------------------------------------------------------------------


async def test_own_session_closed_and_passed_session_left_open(http: aioresponses) -> None:
    http.get(f"{BASE}/customers/1", payload=SAMPLE, repeat=True)
    client = AsyncIndicaClient(KEY, base_url=BASE)
    await client.customers.get(1)  # opens lazily
    session = client._session
    assert session is not None and not session.closed
    await client.aclose()
    assert session.closed and client.closed
    await client.aclose()  # idempotent

    async with aiohttp.ClientSession() as mine:
        async with AsyncIndicaClient(KEY, base_url=BASE, session=mine) as borrowing:
            await borrowing.customers.get(1)
        assert not mine.closed


async def test_a_closed_client_is_never_reopened(client: AsyncIndicaClient) -> None:
    await client.aclose()
    with pytest.raises(ClientStateError, match="closed"):
        await client.customers.get(1)


async def test_a_client_used_from_a_second_event_loop_fails_clearly(
    http: aioresponses,
) -> None:
    http.get(f"{BASE}/customers/1", payload=SAMPLE, repeat=True)
    async with AsyncIndicaClient(KEY, base_url=BASE) as client:
        await client.customers.get(1)
        outcome: list[BaseException] = []

        def other_loop() -> None:
            try:
                asyncio.run(client.customers.get(1))
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=other_loop)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ClientStateError)
    assert "another event loop" in str(outcome[0])


def test_settings_classes_raise_the_sdks_own_error() -> None:
    for bad in (
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retry_time": 0},
        {"max_backoff": float("nan")},
    ):
        with pytest.raises(ConfigurationError):
            RetryPolicy(**bad)  # type: ignore[arg-type]
    for bad_timeout in ({"total": 0}, {"connect": -1}, {"total": True}):
        with pytest.raises(ConfigurationError):
            Timeout(**bad_timeout)  # type: ignore[arg-type]
    assert Timeout(connect=None, total=None).total is None


async def test_bad_per_call_options_raise_before_any_request(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    for options in ({"max_retries": -1}, {"max_retries": "3"}, {"timeout": 0}, {"timeout": "5"}):
        with pytest.raises(InvalidArgumentError):
            await client.customers.get(1, **options)  # type: ignore[arg-type]
    assert calls(http) == []
