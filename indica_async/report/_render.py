"""The report as one self-contained HTML page (Jinja2, autoescaped; SVG charts inline)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import IO, Any, Final

import jinja2
from markupsafe import Markup

from .._version import __version__
from . import _charts as charts
from ._figures import EXPIRY_HORIZONS
from ._model import ActionItem, Count, Report

__all__ = [
    "ACTION_LIST_COLUMNS",
    "DEFAULT_ACTION_ROWS",
    "action_list_csv",
    "render_html",
    "write_action_list_csv",
]

#: Rows of the action list shown in the page; the CSV export holds all of them.
DEFAULT_ACTION_ROWS: Final = 200
#: Weeks drawn in the weekly chart (the figure holds them all).
CHART_WEEKS: Final = 26
#: The columns of the action list CSV.
ACTION_LIST_COLUMNS: Final = (
    "customer_id",
    "first_name",
    "last_name",
    "what",
    "expires_on",
    "days_left",
    "email",
    "phone",
    "email_allowed",
    "text_allowed",
    "call_allowed",
)

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("indica_async.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _human(label: str) -> str:
    return label.replace("_", " ")


def _pairs(counts: Iterable[Count]) -> list[tuple[str, int]]:
    return [(_human(count.label), count.count) for count in counts]


def _charts(report: Report) -> dict[str, Markup]:
    growth, mix, expiring = report.growth, report.type_mix, report.expirations
    trend = growth.trend
    months = [(period.start, period.count) for period in growth.months]
    line = None
    if trend.slope_per_month is not None and trend.last_month is not None:
        # The fitted line, drawn through the complete months it was fitted on.
        index = next(i for i, p in enumerate(growth.months) if p.start == trend.last_month.start)
        complete = growth.months[index - trend.complete_months + 1 : index + 1]
        mean = sum(p.count for p in complete) / len(complete)
        first = mean - trend.slope_per_month * (len(complete) - 1) / 2
        start = index - trend.complete_months + 1
        line = (first - trend.slope_per_month * start, trend.slope_per_month)
    buckets = []
    for what, name in (("recommendation", "Recommendations"), ("state_id", "State IDs")):
        low = 0
        for high, count in zip(EXPIRY_HORIZONS, expiring.buckets[what], strict=True):
            buckets.append((f"{name}, {low}-{high} days", count))
            low = high + 1
    reach = report.marketing
    return {
        "months": charts.columns("New customers per month", months, trend=line),
        "weeks": charts.columns(
            f"New customers per week, the last {min(len(growth.weeks), CHART_WEEKS)}",
            [(period.start, period.count) for period in growth.weeks[-CHART_WEEKS:]],
            label="%d %b",
        ),
        "types": charts.stacked_columns(
            "Customer types per month of creation",
            mix.months,
            {_human(kind): mix.counts[kind] for kind in mix.types},
        ),
        "expiring": charts.horizontal_bars("Expiring in the next 90 days", buckets, width=460),
        "channels": charts.horizontal_bars(
            "Customers who allow each channel and can be reached on it",
            [(channel.name, channel.reachable) for channel in reach.channels],
            total=reach.customers,
        ),
        "consents": charts.columns(
            "Email consents given per month",
            [(period.start, period.count) for period in reach.email_consents],
        ),
        "ages": charts.horizontal_bars(
            "Age bands", _pairs(report.demographics.age_bands), total=report.store.active
        ),
        "genders": charts.horizontal_bars(
            "Gender", _pairs(report.demographics.genders), total=report.store.active
        ),
        "languages": charts.horizontal_bars(
            "Preferred language", _pairs(report.demographics.languages), total=report.store.active
        ),
        "cities": charts.horizontal_bars(
            "Top cities", _pairs(report.demographics.top_cities), colour=charts.PALETTE[6]
        ),
        "zips": charts.horizontal_bars(
            "Top zip codes", _pairs(report.demographics.top_zips), colour=charts.PALETTE[6]
        ),
        "quality": charts.horizontal_bars(
            "Data quality",
            [
                ("no email", report.data_quality.missing_email),
                ("no phone", report.data_quality.missing_phone),
                ("neither", report.data_quality.missing_both),
                ("no date of birth", report.data_quality.missing_date_of_birth),
                ("sharing an email", report.data_quality.customers_sharing_email),
                ("sharing a phone", report.data_quality.customers_sharing_phone),
            ],
            total=report.data_quality.customers,
            colour=charts.PALETTE[5],
        ),
        "fields": charts.horizontal_bars(
            "Fields changed in the last sync",
            _pairs(report.changes.changed_fields[:10]),
            colour=charts.PALETTE[3],
        ),
    }


def render_html(report: Report, *, action_rows: int = DEFAULT_ACTION_ROWS) -> str:
    """The report as one HTML page that needs no network to open. Personal data appears
    only in the action list (its first ``action_rows`` rows), which says so."""
    template = _environment.get_template("report.html.j2")
    context: dict[str, Any] = {
        "report": report,
        "charts": {} if report.empty else _charts(report),
        "actions": report.expirations.action_list[:action_rows],
        "human": _human,
        "version": __version__,
    }
    return template.render(context)


def _csv_row(item: ActionItem) -> list[Any]:
    return [
        item.customer_id,
        item.first_name or "",
        item.last_name or "",
        item.what,
        item.expires_on.isoformat(),
        item.days_left,
        item.email or "",
        item.phone or "",
        "yes" if item.email_allowed else "no",
        "yes" if item.text_allowed else "no",
        "yes" if item.call_allowed else "no",
    ]


def write_action_list_csv(report: Report, out: IO[str]) -> int:
    """Write the whole action list as CSV (personal data: handle with care); return the
    number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ACTION_LIST_COLUMNS)
    for item in report.expirations.action_list:
        writer.writerow(_csv_row(item))
    return len(report.expirations.action_list)


def action_list_csv(report: Report) -> str:
    """The action list CSV as text."""
    buffer = io.StringIO()
    write_action_list_csv(report, buffer)
    return buffer.getvalue()
