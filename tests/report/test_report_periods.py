"""The pure date arithmetic of the report: weeks, months, age bands, the trend."""

from __future__ import annotations

import datetime as dt

import pytest

from indica_async.report import Period
from indica_async.report._periods import age_band, per_period, trend

D = dt.date


def test_periods_fill_empty_weeks_and_months_through_the_given_day() -> None:
    counts = {D(2025, 1, 1): 2, D(2025, 1, 5): 1, D(2025, 3, 3): 4}  # Wed, Sun, Mon

    weeks = per_period(counts, by="week", through=D(2025, 3, 12))
    assert weeks[0] == Period(D(2024, 12, 30), 3)
    assert [p.start.weekday() for p in weeks] == [0] * len(weeks)
    assert weeks[-1] == Period(D(2025, 3, 10), 0)
    assert sum(p.count for p in weeks) == 7 and Period(D(2025, 3, 3), 4) in weeks

    assert per_period(counts, by="month", through=D(2025, 4, 30)) == (
        Period(D(2025, 1, 1), 3),
        Period(D(2025, 2, 1), 0),
        Period(D(2025, 3, 1), 4),
        Period(D(2025, 4, 1), 0),
    )
    assert per_period({}, by="month", through=D(2025, 4, 30)) == ()


def _months(counts: list[int]) -> tuple[Period, ...]:
    out, month = [], D(2024, 1, 1)
    for count in counts:
        out.append(Period(month, count))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return tuple(out)


@pytest.mark.parametrize(
    ("counts", "direction"),
    [
        ([5, 100, 110, 120, 130, 140], "growing"),
        ([5, 140, 130, 120, 110, 100], "shrinking"),
        ([5, 100, 101, 99, 100, 102], "steady"),
    ],
)
def test_the_trend_leaves_out_the_first_and_the_current_month(
    counts: list[int], direction: str
) -> None:
    # The current month (the 7th, June 2024) holds a spike the trend must not see.
    months = _months([*counts, 10_000])
    found = trend(months, today=D(2024, 7, 15))
    assert found.direction == direction
    assert found.complete_months == 5
    assert found.last_month == months[5] and found.previous_month == months[4]
    assert found.change == pytest.approx((counts[5] - counts[4]) / counts[4])


def test_no_trend_from_fewer_than_two_complete_months() -> None:
    found = trend(_months([3, 50, 60]), today=D(2024, 3, 2))
    assert (found.complete_months, found.slope_per_month, found.direction) == (
        1,
        None,
        "not enough complete months",
    )


@pytest.mark.parametrize(
    ("born", "band"),
    [
        ("2004-03-16", "21-29"),  # 21 today
        ("2004-03-17", "under 21"),  # 21 tomorrow
        ("1995-03-16", "30-39"),
        ("1955-03-16", "70+"),
        ("2004-02-29", "21-29"),  # a leap-day birthday has passed by March
        ("2030-01-01", "not given"),
        ("16/03/1990", "not given"),
        (None, "not given"),
    ],
)
def test_age_bands(born: str | None, band: str) -> None:
    assert age_band(born, today=D(2025, 3, 16)) == band
