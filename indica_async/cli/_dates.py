"""Dates on the command line: ``YYYY-MM-DD``, ``today``, ``yesterday``, or ``Nd`` (N days
ago), so cron lines read naturally."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import click

__all__ = ["DATE", "parse_date_text"]

_DAYS_AGO = re.compile(r"([0-9]{1,5})d")


def parse_date_text(text: str, *, today: dt.date) -> dt.date:
    """The day ``text`` names, relative to ``today``; ``ValueError`` if it names none."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - dt.timedelta(days=1)
    ago = _DAYS_AGO.fullmatch(word)
    if ago is not None:
        return today - dt.timedelta(days=int(ago.group(1)))
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", word):
        try:
            return dt.date.fromisoformat(word)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date: use YYYY-MM-DD, today, yesterday or Nd (N days ago)")


if TYPE_CHECKING:
    _ParamType = click.ParamType[dt.date]
else:  # click before 8.2 has no type parameter here
    _ParamType = click.ParamType


class _DateType(_ParamType):
    name = "date"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.date):
            return value
        try:
            return parse_date_text(str(value), today=dt.date.today())
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


#: A click parameter type for dates: ``YYYY-MM-DD``, ``today``, ``yesterday``, ``Nd``.
DATE: _ParamType = _DateType()
