"""The date options: `parse_date_text` (pure) and the click type `DATE`."""

from __future__ import annotations

import datetime as dt

import click
import pytest
from click.testing import CliRunner

from indica_async.cli._dates import DATE, parse_date_text

TODAY = dt.date(2024, 3, 1)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("today", TODAY),
        ("Today", TODAY),
        (" yesterday ", dt.date(2024, 2, 29)),
        ("0d", TODAY),
        ("1d", dt.date(2024, 2, 29)),
        ("7d", dt.date(2024, 2, 23)),
        ("366d", dt.date(2023, 3, 1)),
    ],
)
def test_parse_date_text(text: str, day: dt.date) -> None:
    assert parse_date_text(text, today=TODAY) == day


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2024/01/01", "is not a date: use YYYY-MM-DD, today, yesterday or Nd"),
        ("2023-02-29", "is not a day of the calendar"),
        ("20240101", "is not a date"),
        ("2024-1-1", "is not a date"),
        ("-7d", "is not a date"),
        ("7 days", "is not a date"),
        ("", "is not a date"),
        ("999999d", "reaches before year 1"),
    ],
)
def test_parse_date_text_refuses_with_the_text_typed(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as info:
        parse_date_text(text, today=TODAY)
    assert repr(text) in str(info.value)


def test_date_type_names_the_option_and_the_value() -> None:
    @click.command()
    @click.option("--since", type=DATE, required=True)
    def show(since: dt.date) -> None:
        click.echo(since.isoformat())

    runner = CliRunner()
    ok = runner.invoke(show, ["--since", "2024-02-03"])
    assert (ok.exit_code, ok.output) == (0, "2024-02-03\n")
    relative = runner.invoke(show, ["--since", "1d"])
    assert relative.output == f"{dt.date.today() - dt.timedelta(days=1)}\n"
    bad = runner.invoke(show, ["--since", "2024/01/01"])
    assert bad.exit_code == 2
    assert "Invalid value for '--since': '2024/01/01' is not a date" in bad.stderr
