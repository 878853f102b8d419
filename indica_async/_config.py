"""Defaults, as named constants, and the frozen settings classes built from them."""

from __future__ import annotations

import math
from typing import Any

import attrs

from ._errors import ConfigurationError

DEFAULT_BASE_URL = "https://api.indicaonline.com/open_api/v2.3"
ENV_API_KEY = "INDICA_API_KEY"
ENV_BASE_URL = "INDICA_BASE_URL"

#: Seconds to establish a connection, per attempt.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Seconds for one whole attempt (connect, send, read the body).
DEFAULT_ATTEMPT_TIMEOUT = 60.0

#: Retries after the first attempt, so at most 1 + DEFAULT_MAX_RETRIES attempts.
DEFAULT_MAX_RETRIES = 5
#: Seconds one call may spend across all its attempts and waits.
DEFAULT_MAX_RETRY_TIME = 180.0
#: Exponential backoff: first wait and ceiling, in seconds (jitter is added).
DEFAULT_INITIAL_BACKOFF = 0.5
DEFAULT_MAX_BACKOFF = 16.0
#: A server's Retry-After is honoured up to this many seconds.
DEFAULT_MAX_RETRY_AFTER = 60.0

#: Requests one client keeps in flight at most, across all its calls.
DEFAULT_MAX_CONNECTIONS = 16
#: Bytes one response body may hold, after decompression. The largest page the SDK asks
#: for by default (``DEFAULT_MAX_LIMIT`` customers, about 1.1 KB of JSON each) is near
#: 1 MiB, so 32 MiB leaves room for pages of some 25,000 customers, while a client at
#: ``DEFAULT_MAX_CONNECTIONS`` holds at most 512 MiB of bodies however the server lies.
DEFAULT_MAX_RESPONSE_SIZE = 32 * 1024 * 1024

#: `limit` of a list request, the default for `iterate` and `pages`.
DEFAULT_LIMIT = 500
#: The largest `limit` used to fetch a single day that is full at `limit`.
DEFAULT_MAX_LIMIT = 1000
#: Requests one `iterate` keeps in flight at most.
DEFAULT_CONCURRENCY = 8


def _number(*, minimum: float, inclusive: bool, optional: bool = False) -> Any:
    """An attrs validator raising `ConfigurationError` (the SDK raises only its own errors)."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        ok = (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and not math.isnan(value)
            and (value >= minimum if inclusive else value > minimum)
        )
        if not ok:
            bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
            raise ConfigurationError(f"{attribute.name} must be a number {bound}, got {value!r}")

    return check


def _count(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 0:
        raise ConfigurationError(f"{attribute.name} must be an int >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class Timeout:
    """Per-attempt timeouts in seconds; ``None`` disables one."""

    connect: float | None = attrs.field(
        default=DEFAULT_CONNECT_TIMEOUT,
        validator=_number(minimum=0, inclusive=False, optional=True),
    )
    total: float | None = attrs.field(
        default=DEFAULT_ATTEMPT_TIMEOUT,
        validator=_number(minimum=0, inclusive=False, optional=True),
    )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to retry transient failures (429, 5xx, resets, timeouts)."""

    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, validator=_count)
    max_retry_time: float = attrs.field(
        default=DEFAULT_MAX_RETRY_TIME, validator=_number(minimum=0, inclusive=False)
    )
    initial_backoff: float = attrs.field(
        default=DEFAULT_INITIAL_BACKOFF, validator=_number(minimum=0, inclusive=True)
    )
    max_backoff: float = attrs.field(
        default=DEFAULT_MAX_BACKOFF, validator=_number(minimum=0, inclusive=True)
    )
    max_retry_after: float = attrs.field(
        default=DEFAULT_MAX_RETRY_AFTER, validator=_number(minimum=0, inclusive=True)
    )
