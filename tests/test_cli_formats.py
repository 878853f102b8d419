"""The command line's pure pieces: CSV and JSONL encoding, resume state, summary, exit codes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from indica_async import (
    APIConnectionError,
    AuthenticationError,
    ClientStateError,
    ConfigurationError,
    Customer,
    DecodeError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    WindowOverflowError,
    customer_to_dict,
)
from indica_async._converters import decode_customer
from indica_async.cli._exit import exit_code_for
from indica_async.cli._export import ExportReport, summary_lines
from indica_async.cli._formats import (
    CSV_COLUMNS,
    FORMATS,
    csv_cell,
    csv_header,
    csv_rows,
    flatten_customer,
    jsonl_lines,
)
from indica_async.cli._resume import (
    ResumeState,
    StateError,
    describe_mismatch,
    fingerprint,
    load_state,
    restore_output,
    save_state,
)

SAMPLE = json.loads((Path(__file__).parent / "samples" / "vendor_customer.json").read_text())

# The documented header (README, "Formats"), spelled out: changing it is a breaking change.
DOCUMENTED_HEADER = (
    "id,first_name,last_name,middle_name,date_of_birth,phone,email,comment,"
    "has_medical_recommendation,recommendation.number,recommendation.valid_from,"
    "recommendation.valid_to,recommendation.state_id_expires_on,state_id,alternative_id,"
    "passport,gender,weight,height,type,ethnicity,preferred_language,manual_groups,"
    "auto_groups,home_phone,office_phone,fax,address.street_address_1,"
    "address.street_address_2,address.city,address.state,address.zip,"
    "mail_messages_allowed,email_messages_allowed,text_messages_allowed,"
    "call_messages_allowed,email_consent_date,phone_consent_date"
)


def _model_columns(cls: type, prefix: str = "") -> list[str]:
    columns: list[str] = []
    for field in attrs.fields(cls):
        nested = [a for a in getattr(field.type, "__args__", (field.type,)) if attrs.has(a)]
        if nested:
            columns += _model_columns(nested[0], f"{prefix}{field.name}.")
        else:
            columns.append(prefix + field.name)
    return columns


# --- CSV ---------------------------------------------------------------------------


def test_csv_header_is_the_documented_one() -> None:
    assert csv_header() == (DOCUMENTED_HEADER + "\r\n").encode()
    assert ",".join(CSV_COLUMNS) == DOCUMENTED_HEADER


def test_csv_header_follows_the_model_field_order() -> None:
    assert list(CSV_COLUMNS) == _model_columns(Customer)


def test_flatten_the_vendor_sample() -> None:
    row = dict(zip(CSV_COLUMNS, flatten_customer(SAMPLE), strict=True))
    assert row == {
        "id": "12345",
        "first_name": "Jane",
        "last_name": "Smith",
        "middle_name": "A",
        "date_of_birth": "1990-04-12",
        "phone": "555-123-4567",
        "email": "jane@example.com",
        "comment": "Frequent customer",
        "has_medical_recommendation": "true",
        "recommendation.number": "RX987654",
        "recommendation.valid_from": "2025-01-01",
        "recommendation.valid_to": "2025-12-31",
        "recommendation.state_id_expires_on": "2025-07-15",
        "state_id": "CA987654",
        "alternative_id": "",
        "passport": "",
        "gender": "female",
        "weight": "65",
        "height": "5'6\"",
        "type": "medical_with_rec",
        "ethnicity": "latino_or_hispanic",
        "preferred_language": "english",
        "manual_groups": "101;203",
        "auto_groups": "301",
        "home_phone": "",
        "office_phone": "",
        "fax": "",
        "address.street_address_1": "456 Sunset Blvd",
        "address.street_address_2": "Unit 2",
        "address.city": "Los Angeles",
        "address.state": "CA",
        "address.zip": "90026",
        "mail_messages_allowed": "true",
        "email_messages_allowed": "true",
        "text_messages_allowed": "false",
        "call_messages_allowed": "true",
        "email_consent_date": "2024-11-10",
        "phone_consent_date": "2024-11-10",
    }


def test_flatten_null_and_missing_nested_objects_give_empty_cells() -> None:
    sparse = customer_to_dict(Customer(id=7))
    assert flatten_customer(sparse) == ["7"] + [""] * (len(CSV_COLUMNS) - 1)
    assert flatten_customer({"id": 7}) == flatten_customer(sparse)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (72.5, "72.5"),
        ([], ""),
        ([1, 22, 333], "1;22;333"),
        ('a, "b"\nc', 'a, "b"\nc'),
    ],
)
def test_csv_cell(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_csv_rows_quote_and_round_trip() -> None:
    tricky = {**SAMPLE, "comment": 'says "hi",\nthen leaves', "weight": 70.5, "manual_groups": []}
    customers = [decode_customer(SAMPLE), decode_customer(tricky)]
    data = csv_rows(customers)
    assert data.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows == [flatten_customer(customer_to_dict(c)) for c in customers]
    assert rows[1][CSV_COLUMNS.index("comment")] == 'says "hi",\nthen leaves'
    assert rows[1][CSV_COLUMNS.index("weight")] == "70.5"


# --- JSONL -------------------------------------------------------------------------


def test_jsonl_lines_are_the_api_shape_one_per_line() -> None:
    other = {"id": 99, "gender": "non_binary", "weight": 61.5}
    customers = [decode_customer(SAMPLE), decode_customer(other)]
    data = jsonl_lines(customers)
    assert data.endswith(b"\n")
    lines = data.split(b"\n")
    assert lines[-1] == b""
    assert [orjson.loads(line) for line in lines[:-1]] == [SAMPLE, customer_to_dict(customers[1])]
    assert orjson.loads(lines[1])["gender"] == "non_binary"
    assert jsonl_lines([]) == b""


def test_formats_table() -> None:
    assert set(FORMATS) == {"jsonl", "csv"}
    assert FORMATS["jsonl"].header() == b""
    assert FORMATS["csv"].header() == csv_header()


# --- resume state ------------------------------------------------------------------

ARGS: dict[str, Any] = {
    "command": "customers export",
    "start_date": "2024-01-01",
    "end_date": "2024-12-31",
    "format": "jsonl",
    "output": "out.jsonl",
    "source": {"sandbox": {"customers": 10, "seed": 0, "distribution": "uniform"}},
}


def _state(**changes: Any) -> ResumeState:
    base = ResumeState(
        fingerprint=fingerprint(ARGS),
        args=ARGS,
        next_day=dt.date(2024, 3, 1),
        output_bytes=1234,
        customers=12,
        pages=3,
    )
    return attrs.evolve(base, **changes)


def test_fingerprint_is_stable_order_free_and_sensitive() -> None:
    reordered = dict(reversed(list(ARGS.items())))
    assert fingerprint(reordered) == fingerprint(ARGS)
    assert len(fingerprint(ARGS)) == 64
    for key, value in [
        ("start_date", "2024-01-02"),
        ("end_date", "2024-12-30"),
        ("format", "csv"),
        ("output", "other.jsonl"),
        ("source", {"base_url": "https://api.example"}),
    ]:
        assert fingerprint({**ARGS, key: value}) != fingerprint(ARGS), key


def test_state_save_and_load_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "state.json")
    assert load_state(path) is None
    state = _state()
    save_state(path, state)
    assert load_state(path) == state
    assert os.listdir(tmp_path) == ["state.json"]  # the temp file was renamed over it
    later = state.advanced(next_day=dt.date(2024, 3, 8), output_bytes=2000, customers=5)
    save_state(path, later)
    loaded = load_state(path)
    assert loaded == later
    assert (loaded.customers, loaded.pages, loaded.output_bytes) == (17, 4, 2000)
    assert json.loads(Path(path).read_text())["next_day"] == "2024-03-08"


def test_state_save_replaces_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "state.json")
    save_state(path, _state())

    def crash(src: str, dst: str) -> None:
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        save_state(path, _state(output_bytes=99999))
    assert load_state(path) == _state()  # the old state is intact


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"version": 99}', "unknown version"),
        (
            orjson.dumps({**orjson.loads(_state().to_json()), "output_bytes": -1}),
            "output_bytes must not be negative",
        ),
        (
            orjson.dumps({**orjson.loads(_state().to_json()), "next_day": "2024-02-30"}),
            "day is out of range",
        ),
        (
            orjson.dumps({**orjson.loads(_state().to_json()), "complete": "yes"}),
            "complete must be a bool",
        ),
    ],
)
def test_state_load_rejects_a_bad_file(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(StateError, match=reason) as caught:
        load_state(str(path))
    assert "delete it to start over" in str(caught.value)


def test_restore_output_cuts_a_torn_tail(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    good = b'{"id":1}\n{"id":2}\n'
    out.write_bytes(good + b'{"id":3}\n{"id":')
    with restore_output(str(out), _state(output_bytes=len(good))) as file:
        file.write(b'{"id":3}\n')
    assert out.read_bytes() == good + b'{"id":3}\n'


def test_restore_output_refuses_a_missing_or_short_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(StateError, match="missing"):
        restore_output(str(out), _state(output_bytes=10))
    out.write_bytes(b"12345")
    with pytest.raises(StateError, match="holds 5 bytes, fewer than the 10"):
        restore_output(str(out), _state(output_bytes=10))
    assert out.read_bytes() == b"12345"


def test_describe_mismatch_names_what_differs() -> None:
    other = {**ARGS, "end_date": "2024-06-30", "format": "csv"}
    text = describe_mismatch(ARGS, other)
    assert text == (
        'end_date: "2024-12-31" there, "2024-06-30" here; format: "jsonl" there, "csv" here'
    )


# --- summary and exit codes --------------------------------------------------------


def test_summary_counts_and_warnings() -> None:
    report = ExportReport(
        output="out.csv",
        customers=1500,
        pages=1,
        requests=9,
        retries=1,
        windows_split=2,
        elapsed=2.0,
        server_cap=200,
        unverified_days={dt.date(2024, 4, 20): 200},
    )
    lines = summary_lines(report)
    assert lines[0] == "wrote 1,500 customers in 1 page to out.csv in 2.0 s (750 customers/s)"
    assert lines[1] == "9 requests, 1 retry, 2 windows split, 0 limits raised"
    assert any(line.startswith("warning: the server returns at most 200") for line in lines)
    assert any("1 single day returned" in line and "2024-04-20 (200)" in line for line in lines)
    quiet = summary_lines(ExportReport(output="-", customers=5, pages=1, elapsed=1.0))
    assert len(quiet) == 2
    assert "to stdout" in quiet[0]


def test_summary_warns_on_an_empty_export_and_reports_resumes() -> None:
    empty = summary_lines(ExportReport(output="o", elapsed=1.0))
    assert empty[-1] == "warning: no customers were created in this range"
    resumed = summary_lines(
        ExportReport(
            output="o", customers=3, pages=1, resumed_at=dt.date(2024, 5, 1), total_customers=9
        )
    )
    assert resumed[-1] == "resumed at 2024-05-01; the output holds 9 customers in all"
    done = summary_lines(ExportReport(output="o", already_complete=True, total_customers=9))
    assert done == [
        "the export to o is already complete (9 customers); nothing to do. "
        "Delete the state file to export again"
    ]


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (InvalidArgumentError("bad date"), 2),
        (ConfigurationError("http to a remote host"), 2),
        (AuthenticationError("401", status=401), 3),
        (PermissionDeniedError("403", status=403), 3),
        (NotFoundError("404", status=404), 4),
        (ServerError("503", status=503), 4),
        (APIConnectionError("reset"), 4),
        (DecodeError("bad body"), 4),
        (WindowOverflowError(dt.date(2024, 1, 1), 1000, 1000), 4),
        (ClientStateError("a bug"), None),
        (RuntimeError("a bug"), None),
    ],
)
def test_exit_code_for(exc: BaseException, code: int | None) -> None:
    assert exit_code_for(exc) == code


def test_the_cli_uses_only_the_public_api() -> None:
    # What the command line needs, users need too: it imports indica_async and
    # indica_async.sandbox, never their private modules.
    import ast
    from pathlib import Path

    import indica_async.cli

    private: list[str] = []
    for path in sorted(Path(indica_async.cli.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                outside = node.level >= 2 or module.startswith("indica_async")
                parts = module.removeprefix("indica_async").strip(".").split(".")
                if outside and any(part.startswith("_") for part in parts if part):
                    private.append(f"{path.name}: {module} {[a.name for a in node.names]}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("indica_async.") and "._" in alias.name:
                        private.append(f"{path.name}: {alias.name}")
    assert private == []
