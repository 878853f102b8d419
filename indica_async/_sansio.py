"""The pure protocol layer: build requests, read responses, map statuses. No I/O here.

Everything in this module is a plain function of its arguments, so it is tested
without an event loop or a network.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import math
import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote, urlsplit

import yarl

from ._errors import (
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
from ._version import __version__

USER_AGENT: Final = f"indica-async/{__version__}"
LIST_PATH: Final = "/customers"
#: What logs and exceptions show for a state-id lookup's path: never the state ID itself.
STATE_ID_LABEL: Final = "/customers/state-id/{state_id}"

#: Statuses worth another attempt: rate limited, or a server or gateway failure.
TRANSIENT_STATUSES: Final = frozenset({429, 500, 502, 503, 504})

_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})

DateLike = dt.date | str


# --- arguments -------------------------------------------------------------------


def parse_date(value: object, name: str) -> dt.date:
    """Accept a `datetime.date` or a ``YYYY-MM-DD`` string; anything else is invalid."""
    if isinstance(value, dt.datetime):
        raise InvalidArgumentError(f"{name} must be a date, not a datetime")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
        raise InvalidArgumentError(f"{name} is not a valid calendar date: {value!r}")
    raise InvalidArgumentError(
        f"{name} must be a datetime.date or a 'YYYY-MM-DD' string, got {type(value).__name__}"
    )


def parse_range(start_date: object, end_date: object) -> tuple[dt.date, dt.date]:
    """Parse both ends of an inclusive date range; ``end_date`` may not precede ``start_date``."""
    start = parse_date(start_date, "start_date")
    end = parse_date(end_date, "end_date")
    if end < start:
        raise InvalidArgumentError(
            f"end_date {end.isoformat()} comes before start_date {start.isoformat()}"
        )
    return start, end


def check_positive_int(value: object, name: str) -> int:
    """An ``int`` of at least 1 (``bool`` is refused although it is an ``int``)."""
    if type(value) is not int:
        raise InvalidArgumentError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise InvalidArgumentError(f"{name} must be at least 1, got {value}")
    return value


def check_state_id(value: object) -> str:
    """A non-empty string; it is sent as one URL path segment."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"state_id must be a str, got {type(value).__name__}")
    if not value.strip():
        raise InvalidArgumentError("state_id must not be empty")
    if value in (".", ".."):
        # Sent as a path segment, a dot segment would be resolved to another endpoint.
        raise InvalidArgumentError("state_id must not be '.' or '..'")
    return value


# --- requests --------------------------------------------------------------------


def customer_path(customer_id: int) -> str:
    """The path of ``GET /customers/{id}``."""
    return f"/customers/{customer_id}"


def state_id_path(state_id: str) -> str:
    """The path of ``GET /customers/state-id/{state_id}``, the id encoded as one segment."""
    return f"/customers/state-id/{quote(state_id, safe='')}"


def list_params(start: dt.date, end: dt.date, limit: int) -> dict[str, str]:
    """The query of ``GET /customers`` for one inclusive window."""
    return {"start_date": start.isoformat(), "end_date": end.isoformat(), "limit": str(limit)}


def build_headers(api_key: str) -> dict[str, str]:
    """Headers sent with every request."""
    return {"X-Api-Key": api_key, "Accept": "application/json", "User-Agent": USER_AGENT}


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and addresses in 127.0.0.0/8 or ``::1``."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """Validate a base URL; plain ``http://`` is allowed only to a loopback host.

    The key travels in a header, so a clear-text URL to a remote host would leak it.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {url!r}")
    # Requests are built with yarl: it must parse the URL, and find the same host, or the
    # loopback check above would be about another host than the one connected to.
    try:
        host = yarl.URL(url, encoded=True).host
    except ValueError:
        raise ConfigurationError(f"base_url is not a valid URL: {url!r}") from None
    if host is None or host.lower() != parts.hostname:
        raise ConfigurationError(f"base_url names its host ambiguously: {url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            "base_url uses plain http:// to a non-loopback host; the API key would be sent "
            "in clear text. Use https://"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError("base_url must not have a query or fragment")
    return url.rstrip("/")


# --- responses -------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Garbage, negative or non-finite values give ``None`` (the caller falls back to its
    backoff); a date in the past gives ``0.0``.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


_STATUS_CLASSES: Final[Mapping[int, tuple[type[APIStatusError], str]]] = {
    400: (BadRequestError, "the API rejected the request"),
    422: (BadRequestError, "the API rejected the request"),
    401: (AuthenticationError, "the API key is missing or invalid"),
    403: (
        PermissionDeniedError,
        "the business's plan does not allow this endpoint "
        "(customer lookups by id and state id need the PRO plan)",
    ),
    404: (NotFoundError, "not found (no such customer, or it was deleted)"),
}


def error_for_status(
    status: int,
    *,
    method: str,
    path: str,
    retry_after: str | None = None,
    now: dt.datetime | None = None,
) -> APIStatusError | None:
    """The exception for an error status, or ``None`` for a 2xx.

    Its text comes only from what the SDK knows: the status, ``method`` and ``path``
    (a template where the path holds personal data). No body is taken: error bodies
    are undocumented, so none can be proven free of the key or of a customer's data (a
    404 may echo the state ID looked up), and redacting a known secret misses its
    escaped or split forms. The client does not even read them.
    """
    if 200 <= status < 300:
        return None
    if status == 429:
        now = now or dt.datetime.now(dt.timezone.utc)
        return RateLimitError(
            "rate limited by the API",
            status=status,
            method=method,
            path=path,
            retry_after=parse_retry_after(retry_after, now=now),
        )
    if status >= 500:
        cls: type[APIStatusError] = ServerError
        message = "the API failed"
    else:
        cls, message = _STATUS_CLASSES.get(status, (APIStatusError, "unexpected status"))
    return cls(message, status=status, method=method, path=path)
