"""Settings of the sandbox: frozen attrs value classes and their defaults."""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal, get_args

import attrs

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CUSTOMERS",
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
DEFAULT_CUSTOMERS = 10_000
"""Customers a sandbox holds unless told otherwise (the library, the module and the CLI)."""
DEFAULT_LIST_LIMIT = 100
"""``limit`` used by the list endpoint when the query omits it."""


def _to_kinds(kinds: Iterable[FaultKind]) -> tuple[FaultKind, ...]:
    if isinstance(kinds, str):  # "503" would otherwise become ("5", "0", "3")
        return (kinds,)  # type: ignore[return-value]  # checked by _check_kinds
    return tuple(kinds)


def _check_kinds(_: object, __: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    unknown = [kind for kind in value if kind not in FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
    if not value:
        raise ValueError("fault kinds must not be empty")


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def _check_probability(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (_is_number(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{attribute.name} must be a number within [0, 1], got {_shown(value)}")


def _check_non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (_is_number(value) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {_shown(value)}")


def _check_positive_or_none(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not (_is_number(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a number > 0 or None, got {_shown(value)}")


def _check_positive_int_or_none(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not (_is_int(value) and value > 0):
        raise ValueError(f"{attribute.name} must be an int > 0 or None, got {_shown(value)}")


def _check_int(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not _is_int(value):
        raise ValueError(f"{attribute.name} must be an int, got {_shown(value)}")


def _check_count(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (_is_int(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be an int >= 0, got {_shown(value)}")


def _check_non_empty_str(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, str) and value.strip()):
        raise ValueError(f"{attribute.name} must be a non-empty string, got {_shown(value)}")


def _to_date(value: object) -> object:
    """Accept a ``date`` or a ``YYYY-MM-DD`` string; anything else is left for the check."""
    if isinstance(value, dt.datetime):
        return value  # a datetime is refused by the check: its time would be ignored
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else value
        except ValueError:
            return value
    return value


def _check_date(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, dt.datetime) or not isinstance(value, date):
        raise ValueError(
            f"{attribute.name} must be a datetime.date or a YYYY-MM-DD string, got {_shown(value)}"
        )


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
    seed: int = attrs.field(default=0, validator=_check_int)
    retry_after: float = attrs.field(default=1.0, validator=_check_non_negative)
    """Seconds announced by the 429 faults' ``Retry-After``."""
    spike: float = attrs.field(default=0.5, validator=_check_non_negative)
    """Seconds a ``"latency"`` fault delays the answer."""


def _check_daily_counts(
    config: SandboxConfig, _: attrs.Attribute[Any], value: Mapping[date, int] | None
) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ValueError(f"daily_counts must be a mapping of dates to counts, got {_shown(value)}")
    for day, count in value.items():
        if isinstance(day, dt.datetime) or not isinstance(day, date):
            raise ValueError(f"daily_counts keys must be datetime.date, got {_shown(day)}")
        if not config.start_date <= day <= config.end_date:
            raise ValueError(
                f"daily_counts day {day} is outside [{config.start_date}, {config.end_date}]"
            )
        if not _is_int(count) or count < 0:
            raise ValueError(f"daily_counts[{day}] must be an int >= 0, got {_shown(count)}")


def _check_faults(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, FaultConfig):
        raise ValueError(f"{attribute.name} must be a FaultConfig, got {_shown(value)}")


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """What the sandbox serves and how it behaves. Every field has a default.

    Every argument is checked here, at construction: a wrong type or value raises
    ``ValueError`` naming the field. ``start_date``/``end_date`` take a
    ``datetime.date`` or a ``YYYY-MM-DD`` string.
    """

    seed: int = attrs.field(default=0, validator=_check_int)
    customers: int = attrs.field(default=DEFAULT_CUSTOMERS, validator=_check_count)
    start_date: date = attrs.field(
        default=date(2024, 1, 1), converter=_to_date, validator=_check_date
    )
    end_date: date = attrs.field(
        default=date(2024, 12, 31), converter=_to_date, validator=_check_date
    )
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
    limit_cap: int | None = attrs.field(default=None, validator=_check_positive_int_or_none)
    """The list endpoint silently returns at most this many records."""
    plan: Plan = attrs.field(default="pro", validator=attrs.validators.in_(get_args(Plan)))
    """``"basic"`` answers 403 on the two single-customer endpoints."""
    api_key: str = attrs.field(default=DEFAULT_API_KEY, validator=_check_non_empty_str)
    latency: float = attrs.field(default=0.0, validator=_check_non_negative)
    """Seconds added to every response."""
    faults: FaultConfig = attrs.field(factory=FaultConfig, validator=_check_faults)
    rate_limit: float | None = attrs.field(default=None, validator=_check_positive_or_none)
    """Requests per second allowed across the server (token bucket); beyond it, 429."""
    rate_burst: int | None = attrs.field(default=None, validator=_check_positive_int_or_none)
    """Size of the token bucket; by default a fifth of a second's worth, at least 1."""
    max_limit: int | None = attrs.field(default=None, validator=_check_positive_int_or_none)
    """A ``limit`` above this is a 400."""
    vendor_sample: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    """Serve the vendor's sample customer (id 12345, state id ``CA987654``) in place of
    one generated customer, so the guide's examples work as written; the number of
    customers stays ``customers``."""

    @end_date.validator
    def _check_end_date(self, _: attrs.Attribute[date], value: date) -> None:
        if value < self.start_date:
            raise ValueError(f"end_date {value} is before start_date {self.start_date}")
