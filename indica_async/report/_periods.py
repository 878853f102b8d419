"""Pure date arithmetic of the figures: weeks, months, age bands and the trend."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping

from ._model import Count, Period, Trend

__all__ = [
    "AGE_BANDS",
    "NOT_GIVEN",
    "age_band",
    "month_of",
    "months_between",
    "parse_day",
    "per_period",
    "ranked",
    "trend",
    "week_of",
]

#: The label of a missing (null, absent or unreadable) value.
NOT_GIVEN = "not given"
#: ``(label, lowest age)``, youngest first; the last band is open-ended.
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("under 21", 0),
    ("21-29", 21),
    ("30-39", 30),
    ("40-49", 40),
    ("50-59", 50),
    ("60-69", 60),
    ("70+", 70),
)
#: The trend is fitted over at most this many complete months.
TREND_MONTHS = 12


def parse_day(value: object) -> dt.date | None:
    """A ``YYYY-MM-DD`` string (or a date) as a date; ``None`` for anything else."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def week_of(day: dt.date) -> dt.date:
    """The Monday starting ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def month_of(day: dt.date) -> dt.date:
    """The first of ``day``'s month."""
    return day.replace(day=1)


def _next_month(month: dt.date) -> dt.date:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from ``first``'s to ``last``'s, both included."""
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


def per_period(
    counts: Mapping[dt.date, int], *, by: str, through: dt.date | None = None
) -> tuple[Period, ...]:
    """Day counts summed per ``week`` or ``month``, with empty periods as zeros, from
    the first day with a count through ``through`` (or the last day with one)."""
    if not counts:
        return ()
    start_of = week_of if by == "week" else month_of
    sums: Counter[dt.date] = Counter()
    for day, count in counts.items():
        sums[start_of(day)] += count
    last = max(max(counts), through) if through is not None else max(counts)
    if by == "week":
        first, end = week_of(min(counts)), week_of(last)
        starts = [first + dt.timedelta(weeks=n) for n in range((end - first).days // 7 + 1)]
    else:
        starts = months_between(min(counts), last)
    return tuple(Period(start, sums[start]) for start in starts)


def trend(months: tuple[Period, ...], *, today: dt.date) -> Trend:
    """The growth trend over the complete months: after the first month with customers
    (which a store's start date usually cuts short) and before the current one."""
    current = month_of(today)
    complete = [period for period in months[1:] if period.start < current][-TREND_MONTHS:]
    last = complete[-1] if complete else None
    previous = complete[-2] if len(complete) > 1 else None
    change = None
    if last is not None and previous is not None and previous.count:
        change = (last.count - previous.count) / previous.count
    slope = None
    direction = "not enough complete months"
    if len(complete) >= 2:
        n = len(complete)
        mean_x = (n - 1) / 2
        mean_y = sum(period.count for period in complete) / n
        sxx = sum((x - mean_x) ** 2 for x in range(n))
        sxy = sum((x - mean_x) * (period.count - mean_y) for x, period in enumerate(complete))
        slope = sxy / sxx
        # Steady: the fitted line moves less than 10% of the monthly mean over the span.
        moved = slope * (n - 1)
        if mean_y and moved > 0.1 * mean_y:
            direction = "growing"
        elif mean_y and moved < -0.1 * mean_y:
            direction = "shrinking"
        else:
            direction = "steady"
    return Trend(
        complete_months=len(complete),
        slope_per_month=slope,
        last_month=last,
        previous_month=previous,
        change=change,
        direction=direction,
    )


def age_band(date_of_birth: object, *, today: dt.date) -> str:
    """The age band of someone born on ``date_of_birth``, as of ``today``."""
    born = parse_day(date_of_birth)
    if born is None or born > today:
        return NOT_GIVEN
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    label = AGE_BANDS[0][0]
    for name, lowest in AGE_BANDS:
        if age >= lowest:
            label = name
    return label


def ranked(counts: Iterable[tuple[str, int]], *, top: int | None = None) -> tuple[Count, ...]:
    """Counts, most first (ties by label), the first ``top`` of them."""
    ordered = sorted(counts, key=lambda item: (-item[1], item[0]))
    if top is not None:
        ordered = ordered[:top]
    return tuple(Count(label, count) for label, count in ordered)
