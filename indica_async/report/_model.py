"""The report's figures as plain data: frozen attrs classes that serialize to JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attr
import attrs

__all__ = [
    "ActionItem",
    "ChangesSinceLastSync",
    "Channel",
    "Count",
    "DataQuality",
    "Demographics",
    "Expirations",
    "Growth",
    "MarketingReach",
    "Period",
    "Report",
    "RunSummary",
    "StoreSummary",
    "Trend",
    "TypeMix",
    "to_json",
]


@attrs.frozen
class Count:
    """One bar of a chart: a label and how many customers it holds."""

    label: str
    count: int


@attrs.frozen
class Period:
    """Customers counted in the week or month starting on ``start``."""

    start: dt.date
    count: int


@attrs.frozen
class Trend:
    """Where sign-ups are heading, from the complete months only.

    ``slope_per_month`` is the least-squares slope of new customers per month over the
    last (up to) twelve complete months; ``direction`` is ``growing`` or ``shrinking``
    when the fitted line moves by more than 10% of the monthly mean over those months,
    else ``steady``. ``change`` compares the last complete month with the one before it
    (``None`` when that one had none).
    """

    complete_months: int
    slope_per_month: float | None
    last_month: Period | None
    previous_month: Period | None
    change: float | None
    direction: str


@attrs.frozen
class Growth:
    """New customers per week (Monday) and per month, dated by their first window."""

    weeks: tuple[Period, ...]
    months: tuple[Period, ...]
    trend: Trend
    #: Customers whose first window was a single day: their creation day is exact.
    dated_to_the_day: int
    #: The widest first window, in days: how far off a creation date can be.
    widest_window_days: int


@attrs.frozen
class TypeMix:
    """Customers by type, per month of creation: ``months[i]`` goes with each row."""

    types: tuple[str, ...]
    months: tuple[dt.date, ...]
    #: ``counts[type][i]``: customers of that type created in ``months[i]``.
    counts: dict[str, tuple[int, ...]]
    totals: tuple[Count, ...]


@attrs.frozen
class ActionItem:
    """One customer to contact about something that expires (personal data)."""

    customer_id: int
    first_name: str | None
    last_name: str | None
    #: ``recommendation`` (medical recommendation) or ``state_id``.
    what: str
    expires_on: dt.date
    days_left: int
    email: str | None
    phone: str | None
    email_allowed: bool
    text_allowed: bool
    call_allowed: bool


@attrs.frozen
class Expirations:
    """Medical recommendations and state IDs expiring from today through 90 days on."""

    today: dt.date
    #: ``{"recommendation": [<=30, 31-60, 61-90 days], "state_id": [...]}``.
    buckets: dict[str, tuple[int, int, int]]
    #: Soonest first; personal data: for staff, never for charts.
    action_list: tuple[ActionItem, ...]


@attrs.frozen
class Channel:
    """One marketing channel: who allows it, and who can also be reached on it."""

    name: str
    allowed: int
    #: Allowed, and the contact it needs (email, phone or address) is on file.
    reachable: int
    #: Allowed, with a consent date recorded (email and text/phone only).
    consent_dated: int | None


@attrs.frozen
class MarketingReach:
    """Consent per channel, and when consents were given (per month)."""

    customers: int
    channels: tuple[Channel, ...]
    email_consents: tuple[Period, ...]
    phone_consents: tuple[Period, ...]


@attrs.frozen
class Demographics:
    """Age bands (from date of birth, on ``today``), gender, language, places."""

    age_bands: tuple[Count, ...]
    genders: tuple[Count, ...]
    languages: tuple[Count, ...]
    top_cities: tuple[Count, ...]
    top_zips: tuple[Count, ...]


@attrs.frozen
class DataQuality:
    """Missing contacts, and emails or phones shared by several customers."""

    customers: int
    missing_email: int
    missing_phone: int
    missing_both: int
    missing_date_of_birth: int
    #: Distinct emails (compared case-insensitively) held by more than one customer.
    shared_emails: int
    customers_sharing_email: int
    #: Distinct phones (compared by digits) held by more than one customer.
    shared_phones: int
    customers_sharing_phone: int


@attrs.frozen
class RunSummary:
    """One sync run, as the ``runs`` table records it."""

    id: int
    mode: str
    outcome: str
    started_at: dt.datetime
    start_date: dt.date
    end_date: dt.date
    new: int
    changed: int
    deleted: int
    missing: int
    restored: int


@attrs.frozen
class ChangesSinceLastSync:
    """What the last completed run found changed since the run before it."""

    last_run: RunSummary | None
    #: The fields most often changed in that run, most first.
    changed_fields: tuple[Count, ...]
    #: The latest runs, newest first (failed ones too).
    recent_runs: tuple[RunSummary, ...]


@attrs.frozen
class StoreSummary:
    """The account's size: the base (active customers) and what is left out of it."""

    account: str
    found: bool
    synced_through: dt.date | None
    active: int
    deleted: int
    missing: int


@attrs.frozen
class Report:
    """Every figure of the report. ``to_json()`` gives plain JSON-ready data."""

    generated_on: dt.date
    store: StoreSummary
    growth: Growth
    type_mix: TypeMix
    expirations: Expirations
    marketing: MarketingReach
    demographics: Demographics
    data_quality: DataQuality
    changes: ChangesSinceLastSync

    @property
    def empty(self) -> bool:
        """Whether the base holds no customer at all."""
        return self.store.active == 0

    def to_json(self, *, action_list: bool = True) -> dict[str, Any]:
        """The report as JSON-ready dicts and lists (dates as ``YYYY-MM-DD``).

        The action list is personal data (names, emails, phones); ``action_list=False``
        leaves it out (an empty list), for an endpoint that serves the charts only.
        """
        data: dict[str, Any] = to_json(self)
        data["empty"] = self.empty
        if not action_list:
            data["expirations"]["action_list"] = []
        return data


def _plain(_instance: Any, _field: Any, value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def to_json(figure: Any) -> Any:
    """Any figure (an attrs instance) as JSON-ready dicts, lists and ISO dates."""
    # attr.asdict (not attrs.asdict) turns tuples into lists: plain JSON data.
    return attr.asdict(figure, value_serializer=_plain, retain_collection_types=False)
