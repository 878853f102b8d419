"""Fuzzing: whatever the server answers, and whatever a caller passes, only the SDK's
own exceptions escape, and nothing hangs.

- Responses: Hypothesis draws sequences of replies (any status, any bytes, any JSON,
  customers with a wrong type in one field, huge and deeply nested documents, cut
  bodies) with any ``Retry-After`` (garbage, negative, huge, dates from year 1 to
  9999), ``Content-Type`` and ``Content-Encoding``. A tiny aiohttp.web server plays
  them to ``get``, ``get_by_state_id``, ``list`` and ``iterate``: each returns or raises
  an `IndicaError`, well within a deadline.
- Arguments: every public method's every argument, of every wrong type and value,
  raises `InvalidArgumentError`, and the server sees no request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import attrs
import pytest
import strategies
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indica_async import (
    AsyncIndicaClient,
    IndicaError,
    InvalidArgumentError,
    Progress,
    RetryPolicy,
    Timeout,
)
from indica_async.sandbox import Sandbox, SandboxConfig

KEY = "fuzz-key"
#: Retries stay fast and few whatever the server says: tiny backoff, Retry-After capped.
POLICY = RetryPolicy(
    max_retries=2, initial_backoff=0.0, max_backoff=0.001, max_retry_after=0.001, max_retry_time=3
)
ATTEMPT = Timeout(connect=1, total=2)
#: No call may take longer than this, whatever the server answered.
DEADLINE = 8.0

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# --- the server ---------------------------------------------------------------------------


@attrs.frozen
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


class ReplayServer:
    """Answers each request with the next reply of a cycle; counts what it was asked."""

    def __init__(self) -> None:
        self.replies: Sequence[Reply] = [Reply(200, b"[]", {})]
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        reply = self.replies[self.requests % len(self.replies)]
        self.requests += 1
        if reply.status == 0:  # a cut body: the length promised, half of it sent
            response = web.StreamResponse(status=200)
            response.content_length = len(reply.body) + 10
            await response.prepare(request)
            await response.write(reply.body)
            assert request.transport is not None
            request.transport.close()
            return response
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v"

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def replay() -> AsyncIterator[ReplayServer]:
    server = ReplayServer()
    await server.start()
    try:
        yield server
    finally:
        await server.aclose()


# --- what the server answers -------------------------------------------------------------

header_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), max_codepoint=0x2FFF),
    max_size=40,
).map(str.strip)

http_dates = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)).map(
    lambda d: email.utils.format_datetime(d.replace(tzinfo=dt.timezone.utc), usegmt=True)
)

retry_afters = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(repr),
    st.floats(min_value=0, max_value=5).map(lambda f: f"{f:.3f}"),
    http_dates,
    st.sampled_from(
        [
            "-1",
            "0",
            "1e400",
            "-0",
            "nan",
            "inf",
            "0x10",
            " 5 ",
            "5, 6",
            "Mon, 99 Foo 99999 99:99:99 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Sat, 01 Jan 0001 00:00:00 +9999",
            "Thu, 01 Jan 1970 00:00:00 -2400",
            "\u0661\u0662",
        ]
    ),
    header_text,
)

headers = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": retry_afters,
        "Content-Type": st.sampled_from(["application/json", "text/html", "x/y"]) | header_text,
        "Content-Encoding": st.sampled_from(["gzip", "deflate", "br", "identity", "x-nope"]),
    },
)


def dumps(value: Any) -> bytes:
    # The stdlib's encoder: it writes integers of any size (orjson stops at 64 bits).
    return json.dumps(value).encode()


def nested(depth: int, array: bool) -> bytes:
    return (b"[" * depth + b"]" * depth) if array else (b'{"a":' * depth + b"1" + b"}" * depth)


huge_bodies = st.one_of(
    st.builds(nested, st.sampled_from([64, 1024, 1025, 20_000]), st.booleans()),
    st.integers(10, 400_000).map(lambda n: b'[{"id": 1, "first_name": "' + b"x" * n + b'"}]'),
    st.integers(20, 5000).map(lambda n: b'{"id": 1' + b"0" * n + b"}"),
    st.integers(0, 50_000).map(lambda n: b"[" + b",".join([b"1"] * n) + b"]"),
    st.just(b'[{"id": 1e999}]'),
    st.just(b'{"data": ' + b"[" * 3000 + b"]" * 3000 + b"}"),
)

one_customer = strategies.customers() | strategies.invalid_customers().map(lambda case: case[0])
customer_lists = st.lists(one_customer, max_size=6)

bodies = st.one_of(
    st.binary(max_size=300),
    strategies.json_values().map(dumps),
    one_customer.map(dumps),
    customer_lists.map(dumps),
    customer_lists.map(lambda rows: dumps({"data": rows})),
    customer_lists.map(lambda rows: dumps(rows)[: max(1, len(dumps(rows)) // 2)]),
    huge_bodies,
)

statuses = st.sampled_from(
    [200, 200, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 422, 429, 500, 502, 503, 504]
) | st.integers(200, 599)

replies = st.builds(Reply, statuses, bodies, headers) | st.builds(
    Reply, st.just(0), bodies, st.just({})
)


# --- responses ----------------------------------------------------------------------------


async def outcome(call: Coroutine[Any, Any, object]) -> BaseException | None:
    """Run ``call`` within the deadline; return what it raised, if anything."""
    try:
        await asyncio.wait_for(call, timeout=DEADLINE)
    except asyncio.TimeoutError:
        pytest.fail(f"a call did not end within {DEADLINE} s")
    except Exception as exc:
        return exc
    return None


async def drain(client: AsyncIndicaClient) -> int:
    count = 0
    async for _ in client.customers.iterate(
        start_date="2024-01-01", end_date="2024-01-04", limit=2, max_limit=3
    ):
        count += 1
        if count > 1000:
            break
    return count


CALLS: dict[str, Callable[[AsyncIndicaClient], Coroutine[Any, Any, object]]] = {
    "get": lambda client: client.customers.get(12345),
    "get_by_state_id": lambda client: client.customers.get_by_state_id("CA987654"),
    "list": lambda client: client.customers.list(start_date="2024-01-01", end_date="2024-01-31"),
    "iterate": drain,
}


@settings(FUZZ, max_examples=120)
@given(sequence=st.lists(replies, min_size=1, max_size=3))
async def test_any_response_ends_in_a_result_or_an_sdk_error(
    replay: ReplayServer, sequence: list[Reply]
) -> None:
    replay.replies = sequence
    for name, call in CALLS.items():
        # A new client each time: one call's 429s must not pace the next one.
        async with AsyncIndicaClient(
            KEY, base_url=replay.base_url, retry=POLICY, timeout=ATTEMPT
        ) as client:
            error = await outcome(call(client))
        if error is not None:
            assert isinstance(error, IndicaError), f"{name} raised {error!r}"
            # The error can be shown, and shows no key.
            assert KEY not in str(error) and KEY not in repr(error)


@FUZZ
@given(retry_after=retry_afters)
async def test_any_retry_after_is_survived_quickly(replay: ReplayServer, retry_after: str) -> None:
    replay.replies = [Reply(429, b"{}", {"Retry-After": retry_after}), Reply(200, b"[]", {})]
    async with AsyncIndicaClient(
        KEY, base_url=replay.base_url, retry=POLICY, timeout=ATTEMPT
    ) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        error = await outcome(client.customers.list(start_date="2024-01-01", end_date="2024-01-31"))
        # Retried once, waiting at most max_retry_after, whatever the header said.
        assert error is None
        assert loop.time() - started < 1.0
        assert client.stats.rate_limited == 1 and client.stats.retries == 1


# --- arguments ----------------------------------------------------------------------------

_ASCII_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_date(value: object) -> bool:
    if isinstance(value, dt.datetime):
        return False
    if isinstance(value, dt.date):
        return True
    if isinstance(value, str) and _ASCII_DATE.fullmatch(value):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.decimals(allow_nan=False),
    st.text(max_size=12),
    st.binary(max_size=6),
    st.lists(st.integers(), max_size=2),
    st.tuples(st.integers()),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.dates(),
    st.datetimes(),
    st.timedeltas(),
    st.just(object()),
    st.just(Timeout()),
    st.just(Progress()),
)


def bad_positive_int() -> st.SearchStrategy[Any]:
    return anything.filter(lambda v: not (type(v) is int and v >= 1))


def bad_optional_positive_int() -> st.SearchStrategy[Any]:
    return anything.filter(lambda v: v is not None and not (type(v) is int and v >= 1))


bad_state_id = st.one_of(
    anything.filter(lambda v: not isinstance(v, str)),
    st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003", max_size=5),
    st.sampled_from([".", ".."]),
)
bad_date = st.one_of(
    anything.filter(lambda v: not is_date(v)),
    st.sampled_from(
        [
            "2024-02-30",
            "2023-02-29",
            "2024-00-10",
            "2024-1-1",
            "20240101",
            "2024-W01-1",
            "2024-01-01T00:00",
            "2024-01-01 ",
            "\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0661",
            "2024-01-01\n",
        ]
    ),
)
bad_bool = anything.filter(lambda v: not isinstance(v, bool))
bad_timeout = anything.filter(
    lambda v: (
        not (
            v is None
            or isinstance(v, Timeout)
            or (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0)
        )
    )
)
bad_max_retries = anything.filter(lambda v: v is not None and not (type(v) is int and v >= 0))
bad_progress = anything.filter(lambda v: v is not None and not isinstance(v, Progress))

COMMON = {"timeout": bad_timeout, "max_retries": bad_max_retries}
RANGE = {"start_date": bad_date, "end_date": bad_date, "limit": bad_positive_int()}
WALK = {
    **RANGE,
    **COMMON,
    "concurrency": bad_positive_int(),
    "max_limit": bad_positive_int(),
    "initial_days": bad_optional_positive_int(),
    "lookahead": bad_optional_positive_int(),
    "ordered": bad_bool,
    "dedupe": bad_bool,
    "detect_cap": bad_bool,
    "progress": bad_progress,
}
ARGUMENTS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "get": {"customer_id": bad_positive_int(), **COMMON},
    "get_by_state_id": {"state_id": bad_state_id, **COMMON},
    "list": {**RANGE, **COMMON},
    "pages": WALK,
    "iterate": WALK,
}
VALID: dict[str, dict[str, Any]] = {
    "get": {"customer_id": 10_001},
    "get_by_state_id": {"state_id": "CA1"},
    "list": {"start_date": "2024-01-01", "end_date": "2024-01-31"},
    "pages": {"start_date": "2024-01-01", "end_date": "2024-01-31"},
    "iterate": {"start_date": dt.date(2024, 1, 1), "end_date": dt.date(2024, 1, 31)},
}
CASES = [(method, name) for method, params in ARGUMENTS.items() for name in params]


@st.composite
def bad_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """One method, its valid arguments, and exactly one argument made wrong."""
    method, name = draw(st.sampled_from(CASES))
    kwargs = dict(VALID[method])
    kwargs[name] = draw(ARGUMENTS[method][name])
    return method, kwargs


#: An end date, and how many days after it the start comes (so the range runs backwards).
backwards_ranges = st.tuples(st.dates(max_value=dt.date(9970, 1, 1)), st.integers(1, 10_000))


@pytest.fixture
async def idle_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig(customers=20)) as sandbox:
        yield sandbox


async def call_method(client: AsyncIndicaClient, method: str, kwargs: dict[str, Any]) -> None:
    function = getattr(client.customers, method)
    if method in ("pages", "iterate"):
        walk = function(**kwargs)
        try:
            await anext(walk)
        finally:
            await walk.aclose()
    else:
        await function(**kwargs)


@settings(FUZZ, max_examples=300)
@given(case=bad_calls())
async def test_any_wrong_argument_is_refused_before_any_request(
    idle_sandbox: Sandbox, case: tuple[str, dict[str, Any]]
) -> None:
    method, kwargs = case
    async with AsyncIndicaClient(
        idle_sandbox.api_key, base_url=idle_sandbox.base_url, retry=POLICY
    ) as client:
        with pytest.raises(InvalidArgumentError):
            await asyncio.wait_for(call_method(client, method, kwargs), timeout=DEADLINE)
    assert idle_sandbox.stats.requests == 0


@FUZZ
@given(
    method=st.sampled_from(["list", "pages", "iterate"]),
    end_and_gap=backwards_ranges,
    as_text=st.booleans(),
)
async def test_a_backwards_range_is_refused_before_any_request(
    idle_sandbox: Sandbox, method: str, end_and_gap: tuple[dt.date, int], as_text: bool
) -> None:
    end, gap = end_and_gap
    start = end + dt.timedelta(days=gap)
    dates: list[Any] = [start, end]
    if as_text:
        dates = [d.isoformat() for d in dates]
    async with AsyncIndicaClient(
        idle_sandbox.api_key, base_url=idle_sandbox.base_url, retry=POLICY
    ) as client:
        with pytest.raises(InvalidArgumentError):
            await call_method(client, method, {"start_date": dates[0], "end_date": dates[1]})
    assert idle_sandbox.stats.requests == 0
