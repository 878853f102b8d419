"""The pure protocol layer: arguments, URLs, status mapping, Retry-After, envelopes."""

from __future__ import annotations

import datetime as dt

import pytest

import indica_async
from indica_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
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
    error = error_for_status(status, method="GET", path="/customers", now=NOW)
    assert type(error) is cls
    assert error.status == status and error.method == "GET" and error.path == "/customers"
    assert str(error).startswith(f"{status} ") and str(error).endswith("(GET /customers)")


def test_success_is_no_error_and_403_explains_the_plan() -> None:
    assert error_for_status(200, method="GET", path="/") is None
    error = error_for_status(403, method="GET", path="/customers/1")
    assert "PRO plan" in str(error)


def test_rate_limit_error_carries_retry_after() -> None:
    error = error_for_status(429, method="GET", path="/c", retry_after="12", now=NOW)
    assert isinstance(error, RateLimitError) and error.retry_after == 12.0
