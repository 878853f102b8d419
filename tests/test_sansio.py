"""The pure protocol layer: arguments, URLs, status mapping, Retry-After, envelopes."""

from __future__ import annotations

import datetime as dt
import pickle
import traceback

import pytest

import indica_async
from indica_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    DecodeError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from indica_async._sansio import (
    build_headers,
    check_base_url,
    check_positive_int,
    check_state_id,
    error_for_status,
    list_params,
    parse_date,
    parse_range,
    parse_retry_after,
    read_json,
    read_list,
    state_id_path,
)

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def test_dates_accept_date_and_iso_strings_only() -> None:
    assert parse_date("2024-02-29", "d") == dt.date(2024, 2, 29)
    assert parse_date(dt.date(2024, 1, 1), "d") == dt.date(2024, 1, 1)
    for bad in ("2023-02-29", "2024-1-1", "20240101", "2024-01-01T00:00", "", 20240101, None):
        with pytest.raises(InvalidArgumentError):
            parse_date(bad, "start_date")
    with pytest.raises(InvalidArgumentError, match="not a datetime"):
        parse_date(dt.datetime(2024, 1, 1), "d")


def test_range_must_not_run_backwards() -> None:
    assert parse_range("2024-01-01", "2024-01-01") == (dt.date(2024, 1, 1),) * 2
    with pytest.raises(InvalidArgumentError, match="comes before"):
        parse_range("2024-01-02", "2024-01-01")


def test_positive_int_refuses_bool_float_and_zero() -> None:
    assert check_positive_int(3, "limit") == 3
    for bad in (0, -1, True, 1.0, "1", None):
        with pytest.raises(InvalidArgumentError):
            check_positive_int(bad, "limit")


def test_state_id_is_one_encoded_segment() -> None:
    assert state_id_path("CA 123/45") == "/customers/state-id/CA%20123%2F45"
    assert state_id_path("A?b#c%") == "/customers/state-id/A%3Fb%23c%25"
    for bad in ("", "  ", 5, None):
        with pytest.raises(InvalidArgumentError):
            check_state_id(bad)


def test_list_params_and_headers() -> None:
    assert list_params(dt.date(2024, 1, 1), dt.date(2024, 1, 31), 500) == {
        "start_date": "2024-01-01",
        "end_date": "2024-01-31",
        "limit": "500",
    }
    headers = build_headers("k3y")
    assert headers["X-Api-Key"] == "k3y"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == f"indica-async/{indica_async.__version__}"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/open_api/v2.3", "http://localhost/x", "http://[::1]:1/", "https://a.b"],
)
def test_base_url_allows_https_and_loopback_http(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://api.indicaonline.com/open_api/v2.3", "http://10.0.0.1/", "ftp://x", "nohost"]
)
def test_base_url_refuses_clear_text_to_remote_hosts(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_base_url(url)


def test_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("7", now=NOW) == 7.0
    assert parse_retry_after(" 1.5 ", now=NOW) == 1.5
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=NOW) == 0.0
    for garbage in (None, "", "-3", "soon", "nan", "inf", "Thu, 99 Foo"):
        assert parse_retry_after(garbage, now=NOW) is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (422, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (418, APIStatusError),
    ],
)
def test_statuses_map_to_classes(status: int, cls: type[APIStatusError]) -> None:
    error = error_for_status(status, b'{"error":"x"}', method="GET", path="/customers", now=NOW)
    assert type(error) is cls
    assert error.status == status and error.method == "GET" and error.path == "/customers"
    # The body is the server's, and never part of the error.
    assert "error" not in str(error).replace(type(error).__name__, "")
    assert str(error).startswith(f"{status} ") and str(error).endswith("(GET /customers)")


def test_success_is_no_error_and_403_explains_the_plan() -> None:
    assert error_for_status(200, b"", method="GET", path="/") is None
    error = error_for_status(403, b"", method="GET", path="/customers/1")
    assert "PRO plan" in str(error)


def test_rate_limit_error_carries_retry_after() -> None:
    error = error_for_status(429, b"", method="GET", path="/c", retry_after="12", now=NOW)
    assert isinstance(error, RateLimitError) and error.retry_after == 12.0


KEY = "sk-indica-live-9f2c7e1a5b3d4f60aa71"
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
    return b"x" * (offset - 10) + KEY.encode() + b" trailing"


HOSTILE_BODIES = {
    "echoed state id": f'{{"error":"no customer with state_id {STATE_ID}"}}'.encode(),
    "key straddling byte 800": _straddling(800),
    "key straddling byte 200": _straddling(200),
    "JSON-escaped key": ('{"key":"' + KEY.replace("-", "\\u002d") + '"}').encode(),
    "key with escaped slashes": ('{"key":"' + SLASHED_KEY.replace("/", "\\/") + '"}').encode(),
    "key in a header-ish line": f"GET /customers\r\nX-Api-Key: {KEY}\r\n\r\n".encode(),
    "key as a quoted header": f"{{'X-Api-Key': '{KEY}'}}".encode(),
    "a page of customers": b"["
    + b",".join(b'{"id":%d,"email":"person%d@example.com"}' % (i, i) for i in range(50))
    + b"]",
    "html page": b"<html><body><h1>Bad Gateway</h1><p>person1@example.com</p></body></html>",
}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 418, 422, 429, 500, 503])
@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_nothing_the_server_sent_reaches_an_error(status: int, name: str) -> None:
    body = HOSTILE_BODIES[name]
    error = error_for_status(
        status,
        body,
        method="GET",
        path="/customers/state-id/{state_id}",
        now=NOW,
        redact=(KEY, SLASHED_KEY),
    )
    assert error is not None
    text = everything_about(error)
    copied = everything_about(pickle.loads(pickle.dumps(error)))
    for shown in (text, copied):
        # Neither the key, nor any run of 8 of its characters, nor the state ID.
        for key in (KEY, SLASHED_KEY):
            assert not any(key[i : i + 8] in shown for i in range(len(key) - 7)), name
        assert STATE_ID not in shown and "8675309" not in shown
        assert "@example.com" not in shown and "Bad Gateway" not in shown
        assert "/customers/state-id/{state_id}" in shown  # what the SDK knows is there
    assert str(error).startswith(f"{status} ")
    assert error.args == (error.message,)
    assert not hasattr(error, "body")


def test_error_text_is_the_same_whatever_the_body() -> None:
    texts = {
        str(error_for_status(404, body, method="GET", path="/customers/1"))
        for body in (b"", *HOSTILE_BODIES.values())
    }
    assert texts == {"404 not found (no such customer, or it was deleted) (GET /customers/1)"}


def test_list_envelopes() -> None:
    assert read_list([{"id": 1}]) == [{"id": 1}]
    assert read_list({"data": [{"id": 1}], "meta": {}}) == [{"id": 1}]
    with pytest.raises(DecodeError, match="top-level keys: customers, total"):
        read_list({"customers": [], "total": 0})
    with pytest.raises(DecodeError, match="top-level keys: data"):
        read_list({"data": {"id": 1}})
    with pytest.raises(DecodeError, match="string"):
        read_list("[]")


def test_read_json_maps_invalid_json_to_decode_error() -> None:
    assert read_json(b'{"a": 1}') == {"a": 1}
    with pytest.raises(DecodeError, match="not valid JSON"):
        read_json(b"<html>")
