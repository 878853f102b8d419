"""The ``indica-async`` command line, run against sandboxes.

Most cases run in this process through click's `CliRunner` (`run_cli`); what needs a
real process (signals, a closed pipe, a kill, a terminal) runs one (`run_process`,
`start_cli`). Every export is compared exactly with the sandbox's ground truth
(`generate_customers` with the same config), in the API's JSON shape or flattened for
CSV independently of the CLI's own code.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import io
import json
import os
import pty
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from indica_async import customer_to_dict
from indica_async._converters import decode_customer
from indica_async.cli._formats import CSV_COLUMNS
from indica_async.cli._main import cli
from indica_async.sandbox import SandboxConfig, generate_customers

SECRET = "s3cret-Key-0f-the-Test-9b1c"
WRONG = "wr0ng-Key-Nobody-Has-77aa"


# --- helpers -----------------------------------------------------------------------


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDICA_")}
    env.update(extra or {})
    return env


def _command(*args: str) -> list[str]:
    # -W default: an unclosed session or any other warning shows up on stderr.
    return [sys.executable, "-W", "default", "-m", "indica_async", *args]


def run_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """The command line in a process of its own, as a user runs it."""
    return subprocess.run(
        _command(*args), cwd=cwd, env=_env(env), capture_output=True, timeout=timeout
    )


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The command line in this process (click's CliRunner), in ``cwd``, with only the
    ``INDICA_*`` variables of ``env``. A traceback fails the test."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INDICA_")}
    before = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(
            cli, list(args), env={**unset, **(env or {})}, prog_name="indica-async"
        )
    finally:
        os.chdir(before)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        list(args), result.exit_code, result.stdout_bytes, result.stderr_bytes
    )


def start_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        _command(*args),
        cwd=cwd,
        env=_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def assert_clean(stderr: bytes) -> None:
    """No traceback and no warning (an unclosed client or sandbox would show here)."""
    text = stderr.decode()
    for marker in ("Traceback", "Warning", "Unclosed", "Exception ignored"):
        assert marker not in text, text


def assert_one_error_line(result: subprocess.CompletedProcess[bytes], code: int) -> str:
    assert result.returncode == code, result.stderr.decode()
    assert_clean(result.stderr)
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("indica-async: error: "), lines
    return lines[0]


@functools.cache
def truth(config: SandboxConfig) -> list[dict[str, Any]]:
    """Ground truth in the API's shape, nulls normalised as the SDK's decoder does."""
    return [customer_to_dict(decode_customer(r.body)) for r in generate_customers(config)]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def csv_truth(bodies: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for body in bodies:
        row = []
        for column in CSV_COLUMNS:
            top, _, sub = column.partition(".")
            value = body.get(top)
            if sub:
                value = value.get(sub) if isinstance(value, dict) else None
            row.append(_cell(value))
        rows.append(row)
    return rows


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [orjson.loads(line) for line in data.split(b"\n")[:-1]]


def read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    return rows[1:]


def assert_exact_export(path: Path, fmt: str, expected: list[dict[str, Any]]) -> None:
    if fmt == "jsonl":
        got = read_jsonl(path)
        assert len({c["id"] for c in got}) == len(got), "duplicate customers"
        assert got == expected
    else:
        rows = read_csv(path)
        assert len({r[0] for r in rows}) == len(rows), "duplicate customers"
        assert rows == csv_truth(expected)


def wait_for_state(
    state: Path, proc: subprocess.Popen[bytes], *, more_than: int, timeout: float = 30
) -> dict[str, Any]:
    """Poll the state file until it records more than ``more_than`` customers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1].decode()
        if state.exists():
            saved: dict[str, Any] = json.loads(state.read_bytes())
            if saved["customers"] > more_than:
                return saved
        time.sleep(0.01)
    raise AssertionError("the export made no progress")


def _read_served(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    assert proc.stdout is not None
    found: dict[str, str] = {}
    while len(found) < 2:
        line = proc.stdout.readline().decode().strip()
        assert line, proc.communicate()[1].decode()
        name, _, value = line.partition("=")
        found[name] = value
    return found["INDICA_BASE_URL"], found["INDICA_API_KEY"]


def _stop(proc: subprocess.Popen[bytes]) -> subprocess.CompletedProcess[bytes]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# --- sandboxes served by another process -------------------------------------------

SERVED = SandboxConfig(customers=600, seed=5)


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The sandbox package's own server, with a key of the test's choosing: its URL."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "indica_async.sandbox", "--port", "0", "--api-key", SECRET),
            *("--customers", str(SERVED.customers), "--seed", str(SERVED.seed)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    try:
        url, key = _read_served(proc)
        assert key == SECRET
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def served_basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``indica-async sandbox serve --plan basic``: its URL (the key is the default)."""
    proc = start_cli(
        "sandbox", "serve", "--port", "0", "--plan", "basic", "--customers", "50",
        cwd=tmp_path_factory.mktemp("serve"),
    )  # fmt: skip
    try:
        url, key = _read_served(proc)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/open_api/v2.3")
        assert key == "sandbox-key"
        yield url
    finally:
        stopped = _stop(proc)
        assert stopped.returncode == 0
        assert_clean(stopped.stderr)
        assert b"50 customers created 2024-01-01 to 2024-12-31, plan basic" in stopped.stderr


# --- export --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_matches_ground_truth(tmp_path: Path, fmt: str) -> None:
    # A bursty spread over a partial year at a small limit: splits and raised limits.
    config = SandboxConfig(
        customers=2500,
        seed=7,
        distribution="bursty",
        start_date=dt.date(2023, 3, 1),
        end_date=dt.date(2023, 9, 30),
    )
    result = run_cli(
        "customers", "export", "--sandbox", "--sandbox-customers", "2500",
        "--sandbox-seed", "7", "--sandbox-distribution", "bursty",
        "--start-date", "2023-03-01", "--end-date", "2023-09-30",
        "--limit", "60", "--max-limit", "500", "--format", fmt, "--output", f"out.{fmt}",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert_clean(result.stderr)
    assert result.stdout == b""
    assert_exact_export(tmp_path / f"out.{fmt}", fmt, truth(config))
    summary = result.stderr.decode().splitlines()
    assert summary[0].startswith("indica-async: wrote 2,500 customers in ")
    assert f"to out.{fmt} in " in summary[0]
    assert "0 windows split" not in summary[1]
    # No progress bar when stderr is not a terminal.
    assert "exporting" not in result.stderr.decode()
    assert b"\x1b[" not in result.stderr


def test_the_readme_command(tmp_path: Path) -> None:
    command = (
        "indica-async customers export --sandbox --start-date 2024-01-01 "
        "--end-date 2024-12-31 --output customers.jsonl"
    )
    result = run_cli(*command.split()[1:], cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert_clean(result.stderr)
    assert read_jsonl(tmp_path / "customers.jsonl") == truth(SandboxConfig(customers=10_000))


def test_export_to_stdout_survives_faults(tmp_path: Path) -> None:
    config = SandboxConfig(customers=1200, seed=2)
    result = run_cli(
        "customers", "export", "--sandbox", "--sandbox-customers", "1200", "--sandbox-seed",
        "2", "--sandbox-fault-rate", "0.25", "--start-date", "2024-01-01",
        "--end-date", "2024-12-31", "--limit", "80",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert_clean(result.stderr)
    (tmp_path / "stdout.jsonl").write_bytes(result.stdout)
    assert_exact_export(tmp_path / "stdout.jsonl", "jsonl", truth(config))
    assert "to stdout" in result.stderr.decode()
    stderr = result.stderr.decode()
    assert " 0 retries" not in stderr
    assert " retries" in stderr or " retry," in stderr
    # Each retry is reported as it happens.
    assert "indica-async: warning: retrying GET /customers in " in stderr


def test_quiet_prints_nothing_on_stderr(tmp_path: Path) -> None:
    # Faults too: the SDK's retry warnings are silenced as well.
    result = run_cli(
        "customers", "export", "--sandbox", "--sandbox-customers", "300",
        "--sandbox-fault-rate", "0.3", "--limit", "20", "--start-date", "2024-01-01",
        "--end-date", "2024-12-31", "--output", "q.jsonl", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stderr == b""
    assert result.stdout == b""
    assert read_jsonl(tmp_path / "q.jsonl") == truth(SandboxConfig(customers=300))


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    args = (
        "customers", "export", "--sandbox", "--sandbox-customers", "800",
        "--sandbox-latency", "0.03", "--concurrency", "1", "--limit", "50",
        "--start-date", "2024-01-01", "--end-date", "2024-12-31", "--output", "p.jsonl",
    )  # fmt: skip
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        _command(*args),
        cwd=tmp_path,
        env=_env({"TERM": "xterm", "COLUMNS": "200"}),
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the child's side is closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        assert proc.wait(timeout=60) == 0
    finally:
        reader.join(timeout=10)
        os.close(master)
    shown = b"".join(chunks).decode()
    assert "exporting" in shown
    assert "/366 days" in shown
    assert " requests" in shown and " retries" in shown and "/s" in shown
    assert "indica-async: wrote 800 customers" in shown

    # Without a terminal (every other test) there is no bar: see
    # test_export_matches_ground_truth.


def test_export_from_a_served_sandbox_never_shows_the_key(tmp_path: Path, served: str) -> None:
    result = run_cli(
        "customers", "export", "--base-url", served, "--api-key-env", "MY_INDICA_KEY",
        "--start-date", "2024-01-01", "--end-date", "2024-12-31", "--format", "csv",
        "--output", "s.csv", "--resume", "s.state",
        cwd=tmp_path, env={"MY_INDICA_KEY": SECRET},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert_clean(result.stderr)
    assert_exact_export(tmp_path / "s.csv", "csv", truth(SERVED))
    for blob in (result.stdout, result.stderr, *(p.read_bytes() for p in tmp_path.iterdir())):
        assert SECRET.encode() not in blob


# --- get -----------------------------------------------------------------------------


def test_get_by_id_and_state_id(tmp_path: Path, served: str) -> None:
    bodies = truth(SERVED)
    odd = [b for b in bodies if b["state_id"] and (" " in b["state_id"] or "/" in b["state_id"])]
    spaced = next(b for b in odd if " " in b["state_id"])
    slashed = next(b for b in odd if "/" in b["state_id"])
    env = {"INDICA_API_KEY": SECRET, "INDICA_BASE_URL": served}
    for args, expected in [
        ((str(bodies[17]["id"]),), bodies[17]),
        (("--state-id", bodies[3]["state_id"]), bodies[3]),
        (("--state-id", spaced["state_id"]), spaced),
        (("--state-id", slashed["state_id"]), slashed),
    ]:
        result = run_cli("customers", "get", *args, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stderr == b""
        assert result.stdout.endswith(b"}\n") and result.stdout.count(b"\n") == 1
        assert orjson.loads(result.stdout) == expected
        assert SECRET.encode() not in result.stdout


def test_get_from_the_in_process_sandbox(tmp_path: Path) -> None:
    body = truth(SandboxConfig(customers=300, seed=9))[123]
    result = run_cli(
        "customers", "get", "--sandbox", "--sandbox-customers", "300", "--sandbox-seed", "9",
        str(body["id"]),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    assert orjson.loads(result.stdout) == body


# --- exit codes --------------------------------------------------------------------

EXPORT = ("customers", "export", "--sandbox", "--sandbox-customers", "10")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*EXPORT, "--start-date", "2024-13-01", "--end-date", "2024-12-31"),
         "Invalid value for '--start-date': '2024-13-01' is not a day of the calendar"),
        ((*EXPORT, "--start-date", "2024/01/01", "--end-date", "2024-12-31"),
         "Invalid value for '--start-date': '2024/01/01' is not a date: use YYYY-MM-DD, "
         "today, yesterday or Nd"),
        ((*EXPORT, "--start-date", "2024-05-01", "--end-date", "2024-04-30"),
         "Invalid value for '--end-date': 2024-04-30 is before --start-date 2024-05-01"),
        ((*EXPORT, "--start-date", "2024-01-01"), "Missing option '--end-date'"),
        ((*EXPORT, "--bogus"), "No such option"),
        ((*EXPORT, "--start-date", "2024-01-01", "--end-date", "2024-01-02", "--resume", "s"),
         "--resume needs --output"),
        ((*EXPORT, "--start-date", "2024-01-01", "--end-date", "2024-01-02", "--fields", "id,nope"),
         "Invalid value for '--fields': unknown field 'nope'"),
        ((*EXPORT, "--start-date", "2024-01-01", "--end-date", "2024-01-02",
          "--max-retry-time", "0"), "Invalid value for '--max-retry-time': 0.0 is not in the range"),
        (("customers", "export", "--sandbox-seed", "3", "--start-date", "2024-01-01",
          "--end-date", "2024-01-02"), "--sandbox-seed needs --sandbox"),
        (("customers", "get", "--sandbox", "12", "--state-id", "X"), "either a customer ID"),
        (("customers", "get", "--sandbox", "0"), "Invalid value for '[ID]': 0 is not in the range x>=1"),
    ],
)  # fmt: skip
def test_bad_usage_exits_2_naming_the_option_and_the_value(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run_cli(*args, cwd=tmp_path, env={"INDICA_API_KEY": SECRET})
    assert result.returncode == 2, result.stderr.decode()
    assert_clean(result.stderr)
    # click's own usage errors: the usage line, then "Error: <message>".
    text = result.stderr.decode()
    assert text.startswith("Usage: indica-async ") and "\nError: " in text
    assert message in text
    assert result.stdout == b""


def test_a_refused_base_url_is_one_error_line(tmp_path: Path) -> None:
    result = run_cli(
        "customers", "get", "--base-url", "http://example.com/api", "5",
        cwd=tmp_path, env={"INDICA_API_KEY": SECRET},
    )  # fmt: skip
    line = assert_one_error_line(result, 2)
    assert "clear text" in line and SECRET not in line


def test_sandbox_serve_rejects_bad_arguments(tmp_path: Path) -> None:
    result = run_process("sandbox", "serve", "--fault-kinds", "500,nope", cwd=tmp_path)
    assert result.returncode == 2
    assert_clean(result.stderr)
    assert "indica-async sandbox serve: error: argument --fault-kinds: unknown fault kinds" in (
        result.stderr.decode()
    )


def test_no_arguments_prints_help_and_exits_0(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith(b"Usage: indica-async [OPTIONS] COMMAND") or (
        result.stdout.startswith(b"Usage: indica-async [OPTIONS] [COMMAND]")
    )
    assert b"customers" in result.stdout and b"sandbox" in result.stdout
    assert result.stderr == b""


def test_missing_key_exits_3(tmp_path: Path) -> None:
    result = run_cli("customers", "get", "5", cwd=tmp_path)
    assert "no API key: set the INDICA_API_KEY environment variable" in assert_one_error_line(
        result, 3
    )
    result = run_cli("customers", "get", "--api-key-env", "OTHER_KEY", "5", cwd=tmp_path)
    assert "set the OTHER_KEY environment variable" in assert_one_error_line(result, 3)


def test_wrong_key_exits_3_without_showing_it(tmp_path: Path, served: str) -> None:
    for args in [
        ("customers", "get", "--base-url", served, "42"),
        ("customers", "export", "--base-url", served, "--start-date", "2024-01-01",
         "--end-date", "2024-12-31", "--output", "w.jsonl"),
    ]:  # fmt: skip
        result = run_cli(*args, cwd=tmp_path, env={"INDICA_API_KEY": WRONG})
        line = assert_one_error_line(result, 3)
        assert "401" in line
        assert WRONG not in line and SECRET not in line
        assert result.stdout == b""
    # The export failed before any data: no output was created, nothing left behind.
    assert list(tmp_path.iterdir()) == []


def test_basic_plan_lookup_exits_3(tmp_path: Path, served_basic: str) -> None:
    result = run_cli(
        "customers", "get", "--base-url", served_basic, "10001",
        cwd=tmp_path, env={"INDICA_API_KEY": "sandbox-key"},
    )  # fmt: skip
    assert "403" in assert_one_error_line(result, 3)


def test_not_found_exits_4(tmp_path: Path, served: str) -> None:
    env = {"INDICA_API_KEY": SECRET, "INDICA_BASE_URL": served}
    for args in (("1",), ("--state-id", "NO SUCH/ID")):
        result = run_cli("customers", "get", *args, cwd=tmp_path, env=env)
        assert "404" in assert_one_error_line(result, 4)


def test_unreachable_api_exits_4_at_once_naming_host_and_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/open_api/v2.3"
    for command in (
        ("customers", "export", "--start-date", "2024-01-01", "--end-date", "2024-01-31",
         "--output", "u.jsonl"),
        ("customers", "get", "5"),
    ):  # fmt: skip
        # The default retry policy: a refused connection is not retried for half a
        # minute first (no "retrying" line comes before the error).
        result = run_cli(*command, "--base-url", url, cwd=tmp_path, env={"INDICA_API_KEY": SECRET})
        line = assert_one_error_line(result, 4)
        assert (
            line == f"indica-async: error: cannot connect to 127.0.0.1:{port}: connection refused"
        )
    assert list(tmp_path.iterdir()) == []


def test_missing_cli_extra_exits_2(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['rich'] = None; "
        "from indica_async.cli import main; raise SystemExit(main(['--help']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, env=_env(), timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        "indica-async: error: the command line needs click and rich: "
        "pip install 'indica-async[cli]'"
    )


def test_help_everywhere(tmp_path: Path) -> None:
    commands = [(), ("customers", "export"), ("customers", "get")]
    for args in commands:
        result = run_cli(*args, "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.startswith(b"Usage: indica-async")
    # sandbox serve is python -m indica_async.sandbox's own parser, under its name.
    result = run_process("sandbox", "serve", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith(b"usage: indica-async sandbox serve")
    assert b"--no-vendor-sample" in result.stdout
    version = run_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith(b"indica-async, version ")


# --- resume ----------------------------------------------------------------------------

RESUMABLE = SandboxConfig(
    customers=1500, seed=11, start_date=dt.date(2023, 1, 1), end_date=dt.date(2023, 12, 31)
)


def _resumable(fmt: str, *extra: str) -> tuple[str, ...]:
    return (
        "customers", "export", "--sandbox", "--sandbox-customers", "1500",
        "--sandbox-seed", "11", "--start-date", "2023-01-01", "--end-date", "2023-12-31",
        "--format", fmt, "--output", f"out.{fmt}", "--resume", "state.json", *extra,
    )  # fmt: skip


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_sigkill_then_rerun_gives_every_customer_once(tmp_path: Path, fmt: str) -> None:
    slow = _resumable(fmt, "--sandbox-latency", "0.05", "--concurrency", "1", "--limit", "40")
    out, state = tmp_path / f"out.{fmt}", tmp_path / "state.json"
    seen = 0
    for _ in range(2):
        proc = start_cli(*slow, cwd=tmp_path)
        saved = wait_for_state(state, proc, more_than=seen)
        proc.kill()
        proc.communicate(timeout=10)
        saved = json.loads(state.read_bytes())
        assert not saved["complete"]
        assert out.stat().st_size >= saved["output_bytes"]
        seen = saved["customers"]
        # As if the kill had cut a line in half: the rerun must drop the torn tail. It is
        # longer than the whole export, so overwriting it in place would not do.
        with out.open("ab") as file:
            file.write((b'{"id": 1, "first_na' if fmt == "jsonl" else b'1,"Jan') * 300_000)

    done = run_cli(*_resumable(fmt, "--quiet"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    assert_exact_export(out, fmt, truth(RESUMABLE))
    final = json.loads(state.read_bytes())
    assert final["complete"] is True
    assert final["customers"] == 1500
    assert final["output_bytes"] == out.stat().st_size

    # A rerun is a no-op that says so.
    before = out.read_bytes()
    again = run_cli(*_resumable(fmt), cwd=tmp_path)
    assert again.returncode == 0
    assert "already complete (1,500 customers); nothing to do" in again.stderr.decode()
    assert out.read_bytes() == before


def test_sigint_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    slow = _resumable("jsonl", "--sandbox-latency", "0.05", "--concurrency", "1", "--limit", "40")
    out, state = tmp_path / "out.jsonl", tmp_path / "state.json"
    proc = start_cli(*slow, cwd=tmp_path)
    wait_for_state(state, proc, more_than=0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert_clean(err)
    assert err.decode().strip() == (
        "indica-async: interrupted; progress is saved in state.json: "
        "run the same command to continue (out.jsonl holds the customers so far)"
    )
    saved = json.loads(state.read_bytes())
    assert not saved["complete"]
    # A clean stop leaves nothing past the saved length.
    assert out.stat().st_size == saved["output_bytes"]
    assert read_jsonl(out) == truth(RESUMABLE)[: saved["customers"]]

    # Concurrency, limit and latency are not part of the fingerprint.
    fast = _resumable("jsonl", "--concurrency", "4", "--limit", "300")
    done = run_cli(*fast, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert f"resumed at {saved['next_day']}" in done.stderr.decode()
    assert "the output holds 1,500 customers in all" in done.stderr.decode()
    assert_exact_export(out, "jsonl", truth(RESUMABLE))


def test_resume_refuses_another_export(tmp_path: Path) -> None:
    args = _resumable("jsonl", "--quiet")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    out = tmp_path / "out.jsonl"
    before = out.read_bytes()
    changed = [
        tuple("2023-11-30" if a == "2023-12-31" else a for a in args),
        (*args, "--sandbox-seed", "12"),
        tuple("csv" if a == "jsonl" else a for a in args),
    ]
    for other in changed:
        result = run_cli(*other, cwd=tmp_path)
        line = assert_one_error_line(result, 2)
        assert "the resume state state.json belongs to another export" in line
    assert "end_date" in assert_one_error_line(run_cli(*changed[0], cwd=tmp_path), 2)
    assert out.read_bytes() == before


# --- failures leave nothing half-done ------------------------------------------------

# Uniform sign-ups of ~8 a day: some day holds 12 or more, so --max-limit 12 overflows
# there, after the pages of the days before it were written.
OVERFLOWING = (
    "customers", "export", "--sandbox", "--sandbox-customers", "3000", "--limit", "10",
    "--max-limit", "12", "--concurrency", "1", "--start-date", "2024-01-01",
    "--end-date", "2024-12-31",
)  # fmt: skip


def test_an_overflow_names_the_flag_and_leaves_no_partial_file(tmp_path: Path) -> None:
    result = run_cli(*OVERFLOWING, "--output", "all.jsonl", cwd=tmp_path)
    line = assert_one_error_line(result, 4)
    assert "--max-limit 12" in line and "Raise --max-limit" in line
    assert "nothing was written (all.jsonl was not created)" in line
    assert list(tmp_path.iterdir()) == []  # no all.jsonl, no temporary file

    # An existing output is left as it was.
    (tmp_path / "all.jsonl").write_bytes(b"yesterday's export\n")
    result = run_cli(*OVERFLOWING, "--output", "all.jsonl", cwd=tmp_path)
    assert "all.jsonl was left as it was" in assert_one_error_line(result, 4)
    assert (tmp_path / "all.jsonl").read_bytes() == b"yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["all.jsonl"]

    # The same run with --resume shows pages were written before the overflow...
    result = run_cli(*OVERFLOWING, "-o", "r.jsonl", "--resume", "r.state", cwd=tmp_path)
    line = assert_one_error_line(result, 4)
    assert "progress is saved in r.state: run the same command to continue" in line
    saved = json.loads((tmp_path / "r.state").read_bytes())
    assert saved["customers"] > 0 and not saved["complete"]
    # ...and the day named is the first one the output lacks.
    day = line.split("error: ")[1].split(" ")[0]
    assert day == saved["next_day"]


def test_an_output_that_cannot_be_written_exits_1(tmp_path: Path) -> None:
    result = run_cli(*EXPORT, "--start-date", "2024-01-01", "--end-date", "2024-12-31",
                     "-o", "no/such/dir/out.jsonl", cwd=tmp_path)  # fmt: skip
    line = assert_one_error_line(result, 1)
    assert line.startswith("indica-async: error: cannot write no/such/dir/out.jsonl: ")


def test_a_complete_resume_whose_output_is_gone_is_refused(tmp_path: Path) -> None:
    args = _resumable("jsonl", "--quiet")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    out = tmp_path / "out.jsonl"
    out.write_bytes(out.read_bytes()[:-100])
    line = assert_one_error_line(run_cli(*args, cwd=tmp_path), 1)
    assert "says the export to out.jsonl is complete, but out.jsonl is" in line
    assert "bytes long, not" in line and "delete the state file to export again" in line
    out.unlink()
    line = assert_one_error_line(run_cli(*args, cwd=tmp_path), 1)
    assert "out.jsonl is missing; delete the state file" in line
    assert not out.exists()


def test_the_checkpoint_makes_the_output_durable_before_saving_the_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indica_async.cli import _export, _resume

    output, state_path = tmp_path / "out.jsonl", tmp_path / "state.json"
    events: list[tuple[str, int]] = []
    real_fsync, real_save = os.fsync, _resume.save_state

    def fsync(fd: int) -> None:
        real_fsync(fd)
        events.append(("fsync", os.fstat(fd).st_size))

    def save_state(path: str, state: _resume.ResumeState) -> None:
        # What the disk holds when the state is saved: a reversed order finds the
        # page still in Python's buffer, not in the file.
        events.append(("save", state.output_bytes))
        assert output.stat().st_size >= state.output_bytes, "state saved before its data"
        real_save(path, state)

    monkeypatch.setattr(_resume.os, "fsync", fsync)
    monkeypatch.setattr(_export, "save_state", save_state)
    args = _resumable("jsonl", "--quiet", "--limit", "40")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    saves = [i for i, (kind, _) in enumerate(events) if kind == "save"]
    assert len(saves) > 10
    for i in saves:
        # Each save follows an fsync of the output at exactly the length it records.
        kind, size = events[i - 1]
        assert kind == "fsync" and size == events[i][1], events[i - 1 : i + 1]
    assert json.loads(state_path.read_bytes())["complete"] is True


# --- flags ----------------------------------------------------------------------------


def test_verbose_shows_each_request_never_the_key(tmp_path: Path, served: str) -> None:
    env = {"INDICA_API_KEY": SECRET, "INDICA_BASE_URL": served}
    result = run_cli(
        "customers", "export", "--verbose", "--start-date", "2024-01-01", "--end-date",
        "2024-12-31", "--limit", "200", "-o", "v.jsonl", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    lines = [line for line in result.stderr.decode().splitlines() if " -> " in line]
    assert len(lines) >= 3
    for line in lines:
        assert re.fullmatch(
            r"indica-async: GET /customers\?start_date=\d{4}-\d\d-\d\d&end_date=\d{4}-\d\d-\d\d"
            r"&limit=\d+ -> 200 in \d+\.\d\d s",
            line,
        ), line
    body = truth(SERVED)[3]
    for args, template in (
        ((str(body["id"]),), "/customers/{id}"),
        (("--state-id", body["state_id"]), "/customers/state-id/{state_id}"),
        (("999",), "/customers/{id}"),
    ):
        result = run_cli("customers", "get", "-v", *args, cwd=tmp_path, env=env)
        first = result.stderr.decode().splitlines()[0]
        assert first.startswith(f"indica-async: GET {template} -> "), first
        assert str(body["state_id"]) not in result.stderr.decode()
    for blob in (result.stdout, result.stderr):
        assert SECRET.encode() not in blob


def test_fields_choose_the_columns(tmp_path: Path) -> None:
    base = ("customers", "export", "--sandbox", "--sandbox-customers", "300", "-q",
            "--start-date", "2024-01-01", "--end-date", "2024-12-31",
            "--fields", "id,email,address.city,recommendation")  # fmt: skip
    assert run_cli(*base, "-o", "f.jsonl", cwd=tmp_path).returncode == 0
    assert run_cli(*base, "--format", "csv", "-o", "f.csv", cwd=tmp_path).returncode == 0
    expected = truth(SandboxConfig(customers=300))
    got = read_jsonl(tmp_path / "f.jsonl")
    assert got == [
        {
            "id": b["id"],
            "email": b["email"],
            "address": {"city": (b["address"] or {}).get("city")},
            "recommendation": b["recommendation"],
        }
        for b in expected
    ]
    rows = list(csv.reader(io.StringIO((tmp_path / "f.csv").read_text(), newline="")))
    assert rows[0] == [
        "id", "email", "address.city", "recommendation.number", "recommendation.valid_from",
        "recommendation.valid_to", "recommendation.state_id_expires_on",
    ]  # fmt: skip
    assert [row[0] for row in rows[1:]] == [str(b["id"]) for b in expected]


def test_gz_output_is_the_same_export_compressed(tmp_path: Path) -> None:
    base = ("customers", "export", "--sandbox", "--sandbox-customers", "700", "-q",
            "--limit", "60", "--start-date", "2024-01-01", "--end-date", "2024-12-31")  # fmt: skip
    for fmt in ("jsonl", "csv"):
        assert run_cli(*base, "--format", fmt, "-o", f"p.{fmt}", cwd=tmp_path).returncode == 0
        assert run_cli(*base, "--format", fmt, "-o", f"z.{fmt}.gz", cwd=tmp_path).returncode == 0
        packed = (tmp_path / f"z.{fmt}.gz").read_bytes()
        assert packed[:2] == b"\x1f\x8b"
        assert gzip.decompress(packed) == (tmp_path / f"p.{fmt}").read_bytes()
    # Resumable too: one gzip member per page, so a kill leaves whole members behind.
    args = (*base, "-o", "r.jsonl.gz", "--resume", "r.state")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    assert (
        gzip.decompress((tmp_path / "r.jsonl.gz").read_bytes())
        == (tmp_path / "p.jsonl").read_bytes()
    )


async def test_max_retry_time_and_max_retries_reach_the_client() -> None:
    from indica_async.cli._connect import Connection, SandboxOptions, open_client

    connection = Connection(
        max_retries=2, max_retry_time=7.5, timeout=3.0, sandbox=SandboxOptions(customers=5)
    )
    async with open_client(connection) as client:
        assert (client.retry.max_retries, client.retry.max_retry_time) == (2, 7.5)
        assert client.timeout.total == 3.0
        assert len(await client.customers.list(start_date="2024-01-01", end_date="2024-12-31")) == 5


# --- signals and pipes, in a real process ---------------------------------------------


def test_sigterm_stops_like_ctrl_c(tmp_path: Path) -> None:
    slow = _resumable("jsonl", "--sandbox-latency", "0.05", "--concurrency", "1", "--limit", "40")
    out, state = tmp_path / "out.jsonl", tmp_path / "state.json"
    proc = start_cli(*slow, cwd=tmp_path)
    wait_for_state(state, proc, more_than=0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err.decode()
    assert_clean(err)
    assert err.decode().startswith("indica-async: interrupted; progress is saved in state.json")
    saved = json.loads(state.read_bytes())
    assert out.stat().st_size == saved["output_bytes"]
    assert read_jsonl(out) == truth(RESUMABLE)[: saved["customers"]]


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    command = " ".join(
        [*(shlex.quote(a) for a in _command()), "customers", "export", "--sandbox",
         "--start-date", "2024-01-01", "--end-date", "2024-12-31", "-q", "| head -n 2"]
    )  # fmt: skip
    result = subprocess.run(
        ["bash", "-c", command + "; echo status=${PIPESTATUS[0]} >&2"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        timeout=60,
    )
    assert result.stdout.count(b"\n") == 2
    assert result.stderr.decode() == "status=141\n"


def test_an_interrupted_export_without_resume_leaves_nothing(tmp_path: Path) -> None:
    slow = ("customers", "export", "--sandbox", "--sandbox-customers", "1500",
            "--sandbox-latency", "0.05", "--concurrency", "1", "--limit", "40",
            "--start-date", "2024-01-01", "--end-date", "2024-12-31", "-o", "all.jsonl")  # fmt: skip
    proc = start_cli(*slow, cwd=tmp_path)
    deadline = time.monotonic() + 30
    # Wait until pages are being written (to the temporary file next to the output).
    while not [p for p in tmp_path.iterdir() if p.name.endswith(".part") and p.stat().st_size]:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert_clean(err)
    assert err.decode().strip() == (
        "indica-async: interrupted; nothing was written (all.jsonl was not created)"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_resumable_export_failing_before_any_page_says_nothing_was_saved(
    tmp_path: Path, served: str
) -> None:
    result = run_cli(
        "customers", "export", "--base-url", served, "--start-date", "2024-01-01",
        "--end-date", "2024-12-31", "-o", "w.jsonl", "--resume", "w.state",
        cwd=tmp_path, env={"INDICA_API_KEY": WRONG},
    )  # fmt: skip
    line = assert_one_error_line(result, 3)
    assert line.endswith("; nothing was exported yet (no progress saved in w.state)")
    assert list(tmp_path.iterdir()) == []


def test_an_export_to_a_pipe_writes_into_it_and_leaves_it_a_pipe(tmp_path: Path) -> None:
    # A device or a pipe (/dev/null, a FIFO) is never renamed over: the temporary-file
    # rename that keeps a failed export from leaving a partial file would put a plain
    # file in its place (as root, /dev/null itself).
    fifo = tmp_path / "customers.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run_cli(
        "customers", "export", "--sandbox", "--sandbox-customers", "50",
        "--start-date", "2024-01-01", "--end-date", "2024-12-31", "-o", str(fifo), "-q",
        cwd=tmp_path,
    )  # fmt: skip
    reader.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert len(received[0].splitlines()) == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.pipe"]


def test_an_export_through_a_symlink_replaces_the_file_and_keeps_the_link(
    tmp_path: Path,
) -> None:
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "customers.jsonl"
    target.write_text("old\n")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    result = run_cli(
        "customers", "export", "--sandbox", "--sandbox-customers", "50",
        "--start-date", "2024-01-01", "--end-date", "2024-12-31", "-o", str(link), "-q",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == target
    assert len(target.read_bytes().splitlines()) == 50
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["customers.jsonl"]
