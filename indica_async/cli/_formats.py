"""The export formats: JSONL (the API's JSON shape) and CSV (a fixed, flattened header).

Pure functions from customers to bytes, so the export loop knows the exact byte length
of everything it writes (the resume state records it).
"""

from __future__ import annotations

import csv
import io
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from .._converters import customer_to_json, encode_customer
from ..models import Customer

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "ExportFormat",
    "Format",
    "csv_cell",
    "csv_header",
    "csv_rows",
    "flatten_customer",
    "jsonl_lines",
]

Format = Literal["jsonl", "csv"]


def _columns(cl: type, prefix: str = "") -> tuple[str, ...]:
    # Read off the models, so the header cannot drift from them: fields in the vendor
    # sample's order, a nested model's fields in place as ``object.field``.
    hints = typing.get_type_hints(cl)
    columns: list[str] = []
    for field in attrs.fields(cl):
        nested = [t for t in typing.get_args(hints[field.name]) if attrs.has(t)]
        if nested:
            columns.extend(_columns(nested[0], f"{prefix}{field.name}."))
        else:
            columns.append(prefix + field.name)
    return tuple(columns)


#: The CSV header: every top-level field in the vendor sample's order, nested objects
#: flattened in place as ``object.field``. Fixed: it does not depend on the data.
CSV_COLUMNS: Final[tuple[str, ...]] = _columns(Customer)

#: Each column as (top-level field, sub-field or None), computed once.
_PATHS: Final[tuple[tuple[str, str | None], ...]] = tuple(
    (top, sub) if sep else (column, None)
    for column in CSV_COLUMNS
    for top, sep, sub in [column.partition(".")]
)


def csv_cell(value: object) -> str:
    """One CSV cell: null as empty, booleans as ``true``/``false``, lists joined by ``;``."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (list, tuple)):
        return ";".join(csv_cell(item) for item in value)
    return str(value)


def flatten_customer(encoded: Mapping[str, Any]) -> list[str]:
    """A customer in the API's JSON shape as one CSV row, in `CSV_COLUMNS` order."""
    row: list[str] = []
    for top, sub in _PATHS:
        value = encoded.get(top)
        if sub is not None:
            value = value.get(sub) if isinstance(value, Mapping) else None
        row.append(csv_cell(value))
    return row


def _csv_bytes(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    # The csv module's default (Excel) dialect: RFC 4180 quoting and CRLF line ends.
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def csv_header() -> bytes:
    """The CSV header line."""
    return _csv_bytes([CSV_COLUMNS])


def csv_rows(customers: Sequence[Customer]) -> bytes:
    """CSV rows of ``customers``, each line terminated."""
    return _csv_bytes(flatten_customer(encode_customer(c)) for c in customers)


def jsonl_lines(customers: Sequence[Customer]) -> bytes:
    """One JSON object per customer in the API's shape, each line newline-terminated."""
    if not customers:
        return b""
    return b"\n".join(map(customer_to_json, customers)) + b"\n"


@attrs.frozen
class ExportFormat:
    """How a format starts a file and encodes one page of customers."""

    header: Callable[[], bytes]
    encode: Callable[[Sequence[Customer]], bytes]


FORMATS: Final[Mapping[str, ExportFormat]] = {
    "jsonl": ExportFormat(header=lambda: b"", encode=jsonl_lines),
    "csv": ExportFormat(header=csv_header, encode=csv_rows),
}
