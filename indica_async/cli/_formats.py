"""The export formats: JSONL (the API's JSON shape) and CSV (a fixed, flattened header).

Pure functions from customers to bytes, so the export loop knows the exact byte length
of everything it writes (the resume state records it). ``--fields`` picks columns.
"""

from __future__ import annotations

import csv
import io
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal

import attrs
import orjson

from .. import Customer, customer_to_dict, customer_to_json

__all__ = [
    "CSV_COLUMNS",
    "FIELD_NAMES",
    "FORMATS",
    "ExportFormat",
    "Format",
    "csv_cell",
    "csv_columns",
    "csv_header",
    "csv_rows",
    "export_format",
    "flatten_customer",
    "jsonl_lines",
    "parse_fields",
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

#: The top-level fields, in the vendor sample's order.
_TOP_LEVEL: Final[tuple[str, ...]] = tuple(field.name for field in attrs.fields(Customer))

#: What ``--fields`` accepts: every CSV column, and every top-level field (a nested
#: object's name stands for all of its columns).
FIELD_NAMES: Final[tuple[str, ...]] = tuple(dict.fromkeys(CSV_COLUMNS + _TOP_LEVEL))


def _paths(columns: Sequence[str]) -> tuple[tuple[str, str | None], ...]:
    """Each column as (top-level field, sub-field or None)."""
    return tuple(
        (top, sub) if sep else (column, None)
        for column in columns
        for top, sep, sub in [column.partition(".")]
    )


#: Each column as (top-level field, sub-field or None), computed once.
_PATHS: Final[tuple[tuple[str, str | None], ...]] = _paths(CSV_COLUMNS)


def parse_fields(text: str) -> tuple[str, ...]:
    """The fields ``--fields`` names, in the order given, each once: top-level fields
    and nested columns (``address.city``). ``ValueError`` names unknown ones."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in FIELD_NAMES]
    if unknown or not names:
        raise ValueError(
            f"unknown field {', '.join(repr(n) for n in unknown) or '(none given)'}; "
            f"choose from {','.join(_TOP_LEVEL)} or a nested column like address.city"
        )
    return names


def csv_columns(fields: Sequence[str]) -> tuple[str, ...]:
    """The CSV columns of ``fields``: a nested object's name stands for all its columns."""
    columns: list[str] = []
    for name in fields:
        expanded = [c for c in CSV_COLUMNS if c == name or c.startswith(name + ".")]
        columns.extend(c for c in expanded if c not in columns)
    return tuple(columns)


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


def flatten_customer(
    encoded: Mapping[str, Any], paths: Sequence[tuple[str, str | None]] = _PATHS
) -> list[str]:
    """A customer in the API's JSON shape as one CSV row, in `CSV_COLUMNS` order (or
    in the order of ``paths``)."""
    row: list[str] = []
    for top, sub in paths:
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


def csv_header(columns: Sequence[str] = CSV_COLUMNS) -> bytes:
    """The CSV header line."""
    return _csv_bytes([columns])


def csv_rows(customers: Sequence[Customer], columns: Sequence[str] | None = None) -> bytes:
    """CSV rows of ``customers`` (all columns, or ``columns``), each line terminated."""
    paths = _PATHS if columns is None else _paths(columns)
    return _csv_bytes(flatten_customer(customer_to_dict(c), paths) for c in customers)


def _project(encoded: Mapping[str, Any], paths: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
    """The chosen fields of a customer in the API's shape; nested ones stay nested."""
    out: dict[str, Any] = {}
    for top, sub in paths:
        value = encoded.get(top)
        if sub is None:
            out[top] = value
        else:
            nested = out.setdefault(top, {})
            nested[sub] = value.get(sub) if isinstance(value, Mapping) else None
    return out


def jsonl_lines(customers: Sequence[Customer], columns: Sequence[str] | None = None) -> bytes:
    """One JSON object per customer in the API's shape (all fields, or ``columns``), each
    line newline-terminated."""
    if not customers:
        return b""
    dumps = orjson.dumps
    if columns is None:
        lines = [customer_to_json(c) for c in customers]
    else:
        paths = _paths(columns)
        lines = [dumps(_project(customer_to_dict(c), paths)) for c in customers]
    return b"\n".join(lines) + b"\n"


@attrs.frozen
class ExportFormat:
    """How a format starts a file and encodes one page of customers."""

    header: Callable[[], bytes]
    encode: Callable[[Sequence[Customer]], bytes]


FORMATS: Final[Mapping[str, ExportFormat]] = {
    "jsonl": ExportFormat(header=lambda: b"", encode=jsonl_lines),
    "csv": ExportFormat(header=csv_header, encode=csv_rows),
}


def export_format(name: str, columns: Sequence[str] | None = None) -> ExportFormat:
    """The format ``name``, limited to the fields ``columns`` (all when ``None``)."""
    if columns is None:
        return FORMATS[name]
    chosen = tuple(columns)
    if name == "csv":
        chosen = csv_columns(chosen)
        return ExportFormat(
            header=lambda: csv_header(chosen), encode=lambda page: csv_rows(page, chosen)
        )
    return ExportFormat(header=lambda: b"", encode=lambda page: jsonl_lines(page, chosen))
