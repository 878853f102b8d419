"""Settings of the sandbox: frozen attrs value classes and their defaults."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal, get_args

import attrs

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_LIST_LIMIT",
    "FAULT_KINDS",
    "Distribution",
    "Envelope",
    "FaultConfig",
    "FaultKind",
    "Plan",
    "SandboxConfig",
]

FaultKind = Literal[
    "429_seconds",
    "429_date",
    "500",
    "500_html",
    "502",
    "502_html",
    "503",
    "503_html",
    "504",
    "504_html",
    "drop",
    "truncate",
    "latency",
]
"""A fault the sandbox can inject into a customer request.

``"429_seconds"``/``"429_date"``: 429 whose ``Retry-After`` is delay-seconds or an
HTTP date. ``"500"``..``"504"``: that status with a small JSON body; the ``_html``
variants send the same status with an HTML error page, as a proxy in front of the
API would. ``"drop"``: the connection is closed without a response. ``"truncate"``:
headers announce the full ``Content-Length`` but only half the body is sent before the
connection closes. ``"latency"``: the normal answer, ``FaultConfig.spike`` seconds late.
"""

FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
"""Every fault kind, in declaration order."""

Distribution = Literal["uniform", "growing", "bursty"]
Envelope = Literal["bare", "data"]
Plan = Literal["pro", "basic"]

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_LIST_LIMIT = 100
"""``limit`` used by the list endpoint when the query omits it."""


def _to_kinds(kinds: Iterable[FaultKind]) -> tuple[FaultKind, ...]:
    return tuple(kinds)


def _check_kinds(_: object, __: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    unknown = [kind for kind in value if kind not in FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
    if not value:
        raise ValueError("fault kinds must not be empty")


def _check_probability(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], got {value}")


def _check_non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value}")


def _check_positive_or_none(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not (isinstance(value, (int, float)) and value > 0):
        raise ValueError(f"{attribute.name} must be > 0 or None, got {value!r}")


@attrs.frozen(kw_only=True)
class FaultConfig:
    """Which faults the sandbox injects into customer requests, and how often.

    Each request to a customer endpoint that passes the key check and the rate limiter
    draws from a ``random.Random(seed)``: with probability ``rate`` it gets one fault
    chosen uniformly from ``kinds``.
    """

    rate: float = attrs.field(default=0.0, validator=_check_probability)
    kinds: tuple[FaultKind, ...] = attrs.field(
        default=FAULT_KINDS, converter=_to_kinds, validator=_check_kinds
    )
    seed: int = 0
    retry_after: float = attrs.field(default=1.0, validator=_check_non_negative)
    """Seconds announced by the 429 faults' ``Retry-After``."""
    spike: float = attrs.field(default=0.5, validator=_check_non_negative)
    """Seconds a ``"latency"`` fault delays the answer."""


def _check_daily_counts(
    config: SandboxConfig, _: attrs.Attribute[Any], value: Mapping[date, int] | None
) -> None:
    if value is None:
        return
    for day, count in value.items():
        if not config.start_date <= day <= config.end_date:
            raise ValueError(
                f"daily_counts day {day} is outside [{config.start_date}, {config.end_date}]"
            )
        if count < 0:
            raise ValueError(f"daily_counts[{day}] must be >= 0, got {count}")


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """What the sandbox serves and how it behaves. Every field has a default."""

    seed: int = 0
    customers: int = attrs.field(default=1000, validator=attrs.validators.ge(0))
    start_date: date = date(2024, 1, 1)
    end_date: date = attrs.field(default=date(2024, 12, 31))
    distribution: Distribution = attrs.field(
        default="uniform", validator=attrs.validators.in_(get_args(Distribution))
    )
    daily_counts: Mapping[date, int] | None = attrs.field(
        default=None, validator=_check_daily_counts
    )
    """Exact number of customers created on each listed day; overrides
    ``customers`` and ``distribution``."""
    envelope: Envelope = attrs.field(
        default="bare", validator=attrs.validators.in_(get_args(Envelope))
    )
    """``"bare"``: the list endpoint answers a JSON array; ``"data"``: ``{"data": [...]}``."""
    limit_cap: int | None = attrs.field(default=None, validator=_check_positive_or_none)
    """The list endpoint silently returns at most this many records."""
    plan: Plan = attrs.field(default="pro", validator=attrs.validators.in_(get_args(Plan)))
    """``"basic"`` answers 403 on the two single-customer endpoints."""
    api_key: str = DEFAULT_API_KEY
    latency: float = attrs.field(default=0.0, validator=_check_non_negative)
    """Seconds added to every response."""
    faults: FaultConfig = FaultConfig()
    rate_limit: float | None = attrs.field(default=None, validator=_check_positive_or_none)
    """Requests per second allowed across the server (token bucket); beyond it, 429."""
    rate_burst: int | None = attrs.field(default=None, validator=_check_positive_or_none)
    """Size of the token bucket; by default a fifth of a second's worth, at least 1."""
    max_limit: int | None = attrs.field(default=None, validator=_check_positive_or_none)
    """A ``limit`` above this is a 400."""

    @end_date.validator
    def _check_end_date(self, _: attrs.Attribute[date], value: date) -> None:
        if value < self.start_date:
            raise ValueError(f"end_date {value} is before start_date {self.start_date}")
