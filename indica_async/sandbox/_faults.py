"""Fault injection and rate limiting: the failures a client must survive."""

from __future__ import annotations

import math
import random
import time
from email.utils import formatdate

from ._config import FaultConfig, FaultKind

__all__ = [
    "FaultInjector",
    "TokenBucket",
    "format_delay_seconds",
    "html_error_page",
    "retry_after_date",
]

_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


class FaultInjector:
    """Decides, request by request, whether and which fault to inject."""

    def __init__(self, config: FaultConfig) -> None:
        self._rate = config.rate
        self._kinds = config.kinds
        self._random = random.Random(config.seed)

    def choose(self) -> FaultKind | None:
        """The fault for the next request, or ``None``; deterministic for a given seed."""
        if self._rate <= 0.0 or self._random.random() >= self._rate:
            return None
        return self._kinds[int(self._random.random() * len(self._kinds))]


class TokenBucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._updated = time.monotonic()

    def take(self) -> float:
        """Take a token: 0.0 if one was available, else the seconds until one will be."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate


def format_delay_seconds(seconds: float) -> str:
    """``Retry-After`` delay-seconds: whole seconds as an integer, else decimal to the ms.

    RFC 9110 allows only integers; fractions are sent so that tests need not wait whole
    seconds, and every client worth its salt parses them as floats.
    """
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{math.ceil(seconds * 1000) / 1000:g}"


def retry_after_date(seconds: float) -> str:
    """``Retry-After`` as an HTTP date ``seconds`` from now, rounded up to whole seconds."""
    return formatdate(math.ceil(time.time() + seconds), usegmt=True)


def html_error_page(status: int) -> str:
    """An error page like the one a proxy in front of an API answers with."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
