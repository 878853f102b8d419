"""The date options of the command line: ``YYYY-MM-DD``, ``today``, ``yesterday``, ``Nd``.

`parse_date_text` is pure (today is an argument); `DATE` is the click parameter type
every date option uses, so an error names the option and the text typed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

import click

__all__ = ["DATE", "DateType", "parse_date_text"]

_ISO: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAYS_AGO: Final = re.compile(r"([0-9]{1,6})d")

#: What a date option accepts, for help texts and error messages.
DATE_FORMS: Final = "YYYY-MM-DD, today, yesterday or Nd (N days ago, e.g. 7d)"


def parse_date_text(text: str, *, today: dt.date) -> dt.date:
    """The day ``text`` names: ``YYYY-MM-DD``, ``today``, ``yesterday`` or ``Nd``.

    ``Nd`` is N days before ``today`` (``0d`` is today). Surrounding spaces are ignored
    and the words are case-insensitive. Anything else raises ``ValueError``.
    """
    value = text.strip().lower()
    if value == "today":
        return today
    if value == "yesterday":
        return today - dt.timedelta(days=1)
    days_ago = _DAYS_AGO.fullmatch(value)
    if days_ago:
        try:
            return today - dt.timedelta(days=int(days_ago.group(1)))
        except OverflowError:
            raise ValueError(f"{text!r} reaches before year 1") from None
    if _ISO.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{text!r} is not a day of the calendar") from None
    raise ValueError(f"{text!r} is not a date: use {DATE_FORMS}")


class DateType(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """A day, given as ``YYYY-MM-DD``, ``today``, ``yesterday`` or ``Nd``."""

    name = "date"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value  # a default given as a date
        try:
            return parse_date_text(str(value), today=dt.date.today())
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


#: The click type of every date option.
DATE: click.ParamType = DateType()  # type: ignore[type-arg]
