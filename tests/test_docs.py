"""The code in README.md and docs/*.md runs, and the package's public namespace holds.

Convention for Python snippets in the docs:

- A fenced ```` ```python ```` block whose nearest non-blank line above is
  ``<!-- test: run -->`` is a complete script. It runs in a fresh interpreter, in a
  temporary directory, with ``INDICA_API_KEY`` and ``INDICA_BASE_URL`` pointing at a
  sandbox of 500 customers created in 2024 plus the vendor's sample customer (id 12345,
  state ID ``CA987654``, from tests/samples/). It must exit with status 0.
- Every other ``python`` block must at least compile (top-level ``await`` and
  ``async with`` allowed, so fragments may use them), unless the line above it is
  ``<!-- test: skip -->``.

The HTML comments do not show when the Markdown is rendered.
"""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import importlib
import importlib.metadata
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

import indica_async
from indica_async.sandbox import (
    Sandbox,
    SandboxConfig,
    SandboxRecord,
    SandboxRecords,
    generate_customers,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SAMPLE = ROOT / "tests" / "samples" / "vendor_customer.json"

RUN_MARK = "<!-- test: run -->"
SKIP_MARK = "<!-- test: skip -->"
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
SNIPPET_TIMEOUT = 60.0


@attrs.frozen
class Snippet:
    path: Path
    line: int  # of the opening fence, 1-based
    code: str
    mark: str | None  # RUN_MARK, SKIP_MARK or None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def fenced_blocks(path: Path, languages: tuple[str, ...]) -> Iterator[tuple[int, str, list[str]]]:
    """The fenced blocks of one Markdown file in ``languages``: the fence's line number,
    the nearest non-blank line above it (where a block's mark stands), and its lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, language = opening.groups()
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if language in languages:
            above = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
            yield index + 1, above, lines[index + 1 : end]
        index = end + 1


def python_snippets(path: Path) -> list[Snippet]:
    """The fenced ``python``/``py`` blocks of one Markdown file, with their marks."""
    return [
        Snippet(
            path, line, "\n".join(body) + "\n", above if above in (RUN_MARK, SKIP_MARK) else None
        )
        for line, above, body in fenced_blocks(path, ("python", "py"))
    ]


SNIPPETS = [snippet for path in DOCS if path.exists() for snippet in python_snippets(path)]
RUNNABLE = [snippet for snippet in SNIPPETS if snippet.mark == RUN_MARK]
COMPILED = [snippet for snippet in SNIPPETS if snippet.mark != SKIP_MARK]


def test_the_convention_is_in_use() -> None:
    # docs/quickstart.md alone holds three; losing them would silently test nothing.
    assert len([s for s in RUNNABLE if s.path.name == "quickstart.md"]) >= 3


@pytest.mark.parametrize("snippet", COMPILED, ids=lambda s: s.id)
def test_snippet_compiles(snippet: Snippet) -> None:
    compile(snippet.code, snippet.id, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def docs_records() -> SandboxRecords:
    """500 generated customers, and the vendor's sample (which replaces any namesake)."""
    sample = SandboxRecord.from_body(dt.date(2024, 6, 15), orjson.loads(SAMPLE.read_bytes()))
    generated = generate_customers(SandboxConfig(customers=500))
    others = [r for r in generated if r.id != sample.id and r.state_id != sample.state_id]
    return SandboxRecords.from_records([*others, sample])


@pytest.fixture
async def docs_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig(), records=docs_records()) as sandbox:
        yield sandbox


@pytest.mark.parametrize("snippet", RUNNABLE, ids=lambda s: s.id)
async def test_snippet_runs(snippet: Snippet, docs_sandbox: Sandbox, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(snippet.code, encoding="utf-8")
    env = {
        **os.environ,
        "INDICA_API_KEY": docs_sandbox.api_key,
        "INDICA_BASE_URL": docs_sandbox.base_url,
    }
    # A subprocess, so that the snippet's asyncio.run owns its loop while this test's loop
    # serves the sandbox.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), SNIPPET_TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{snippet.id} ran for more than {SNIPPET_TIMEOUT:g} s")
    report = f"{snippet.id} exited with {process.returncode}\n--- stdout\n{out.decode()}\n--- stderr\n{err.decode()}"
    assert process.returncode == 0, report
    assert not err, report
    assert docs_sandbox.stats.requests > 0, f"{snippet.id} never called the API"


# --- the public namespace ------------------------------------------------------------


def isort_style_key(name: str) -> tuple[int, str]:
    """How ruff's RUF022 orders ``__all__``: CONSTANTS, then Classes, then the rest."""
    if name.isupper() and len(name) > 1:
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


def test_all_is_sorted() -> None:
    names = indica_async.__all__
    assert names == sorted(names, key=isort_style_key)
    assert len(set(names)) == len(names)


def test_all_names_are_importable() -> None:
    namespace: dict[str, object] = {}
    exec("from indica_async import *", namespace)
    for name in indica_async.__all__:
        assert getattr(indica_async, name) is namespace[name]


def test_public_names_are_all_in_all() -> None:
    public = {
        name
        for name, value in vars(indica_async).items()
        if not name.startswith("_") and not isinstance(value, type(indica_async))
    }
    assert public <= set(indica_async.__all__)


def test_exceptions_show_the_public_module() -> None:
    exceptions = [
        value
        for name in indica_async.__all__
        if isinstance(value := getattr(indica_async, name), type)
        and issubclass(value, BaseException)
    ]
    assert len(exceptions) >= 10
    for exception in exceptions:
        assert exception.__module__ == "indica_async", exception
        assert issubclass(exception, indica_async.IndicaError), exception
        assert exception.__doc__, exception


def test_version_is_one_everywhere() -> None:
    version_module = importlib.import_module("indica_async._version")
    assert indica_async.__version__ == version_module.__version__
    assert re.fullmatch(
        r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", indica_async.__version__
    )
    # A mismatch here after a version bump means the environment needs `pip install -e .`.
    assert importlib.metadata.version("indica-async") == indica_async.__version__


# --- the shell commands of the docs ----------------------------------------------------
#
# Every command in a ```sh block of README.md and docs/*.md runs, as written, against a
# sandbox (the one above: INDICA_API_KEY and INDICA_BASE_URL point at it), in a
# temporary directory, with the interpreter running these tests first on PATH. A
# command must exit with status 0 and print no traceback. The few rules:
#
# - `pip install ...` is not run: this environment has the package and its extras. In
#   `pip install ... && COMMAND`, COMMAND runs.
# - `python -m pytest` is not run: it is this suite (`.ci/run` runs it; see
#   test_ci_runs_the_readme_test_command).
# - `export NAME=VALUE ...` sets the variables for the later commands of the file; a
#   value written `...` is "your key": the sandbox's key.
# - A server (`indica-async sandbox serve`, `python -m indica_async.sandbox`) is
#   started, must print the two variables (and, in a `$ ` transcript, exactly the lines
#   shown), and is stopped with Ctrl-C (status 0) once the file's commands ran. A port
#   it names is swapped for a free one, everywhere in the file.
# - A block right below `<!-- test: not-run: REASON -->` is reported as skipped, with
#   the reason.

SHELL_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Pages whose commands belong to another part of the project, and why they are not run.
NOT_OURS = {
    "reliability.md": "its commands run this suite's soak and storm tests",
}
NOT_RUN = re.compile(r"<!-- test: not-run: (.+?) -->")
SHELL_TIMEOUT = 180.0


@attrs.frozen
class ShellBlock:
    path: Path
    line: int
    lines: tuple[str, ...]
    not_run: str | None


def shell_blocks(path: Path) -> list[ShellBlock]:
    blocks = []
    for line, above, body in fenced_blocks(path, ("sh", "bash", "shell", "console")):
        mark = NOT_RUN.fullmatch(above)
        blocks.append(ShellBlock(path, line, tuple(body), mark and mark.group(1)))
    return blocks


@attrs.frozen
class Command:
    text: str
    #: The lines a `$ ` transcript shows after the command (stdout, then stderr).
    shown: tuple[str, ...] = ()


def block_commands(block: ShellBlock) -> list[Command]:
    """The block's commands: continuation lines joined, comment lines dropped."""
    logical: list[str] = []
    pending = ""
    for raw in block.lines:
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        logical.append(pending + raw)
        pending = ""
    transcript = any(line.startswith("$ ") for line in logical)
    commands: list[Command] = []
    for line in logical:
        if transcript and not line.startswith("$ "):
            if commands:
                commands[-1] = attrs.evolve(commands[-1], shown=(*commands[-1].shown, line))
            continue
        text = line[2:] if line.startswith("$ ") else line
        if text.strip() and not text.lstrip().startswith("#"):
            commands.append(Command(" ".join(text.split())))
    return commands


def without_installs(text: str) -> str | None:
    """The command without its `pip install` steps; ``None`` if nothing else is left."""
    steps = [step for step in text.split(" && ") if not step.startswith("pip install ")]
    return " && ".join(steps) or None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _is_server(text: str) -> bool:
    return "indica-async sandbox serve" in text or "-m indica_async.sandbox" in text


@pytest.mark.parametrize(
    "path", [p for p in SHELL_DOCS if p.exists()], ids=lambda p: str(p.relative_to(ROOT))
)
async def test_shell_commands_run_as_written(
    path: Path, docs_sandbox: Sandbox, tmp_path: Path
) -> None:
    if path.name in NOT_OURS:
        pytest.skip(NOT_OURS[path.name])
    blocks = shell_blocks(path)
    ports = {
        int(port): _free_port()
        for block in blocks
        for command in block_commands(block)
        if _is_server(command.text)
        for port in re.findall(r"--port (\d+)", command.text)
        if port != "0"
    }

    def localize(line: str) -> str:
        for written, free in ports.items():
            line = re.sub(rf"(--port |127\.0\.0\.1:){written}\b", rf"\g<1>{free}", line)
        return line

    bin_dir = os.path.dirname(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDICA_")}
    env.update(
        PATH=bin_dir + os.pathsep + env.get("PATH", ""),
        INDICA_API_KEY=docs_sandbox.api_key,
        INDICA_BASE_URL=docs_sandbox.base_url,
    )
    servers: list[tuple[str, asyncio.subprocess.Process]] = []
    ran: list[str] = []
    skipped: list[str] = []
    try:
        for block in blocks:
            where = f"{path.name}:{block.line}"
            if block.not_run is not None:
                skipped.append(f"{where}: {block.not_run}")
                continue
            for command in block_commands(block):
                line = without_installs(command.text)
                if line is None:
                    continue  # an install: this environment has the package
                if line.startswith("python -m pytest"):
                    continue  # the suite itself: see test_ci_runs_the_readme_test_command
                line = localize(re.sub(r"=\.\.\.(?=\s|$)", "=" + docs_sandbox.api_key, line))
                if line.startswith("export "):
                    for assignment in line.split()[1:]:
                        name, _, value = assignment.partition("=")
                        env[name] = value
                    continue
                if _is_server(line):
                    servers.append(
                        (where, await _start_server(line, command, env, tmp_path, localize))
                    )
                else:
                    await _run(where, line, env, tmp_path)
                ran.append(line)
    finally:
        for where, server in servers:
            server.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(server.wait(), 20)
            except asyncio.TimeoutError:
                server.kill()
                await server.wait()
                pytest.fail(f"{where}: the server did not stop on Ctrl-C")
    for where, server in servers:
        assert server.returncode == 0, where
    runnable = [b for b in blocks if b.not_run is None]
    assert (
        ran
        or not runnable
        or all(without_installs(c.text) is None for b in runnable for c in block_commands(b))
    ), f"{path.name}: no command ran"
    if not ran and skipped:
        pytest.skip("not run: " + "; ".join(skipped))
    if skipped:
        # Visible in the report: which blocks were not run, and why.
        print("not run:", *skipped, sep="\n  ")


async def _run(where: str, line: str, env: dict[str, str], cwd: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", line, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(process.communicate(), SHELL_TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{where}: `{line}` ran for more than {SHELL_TIMEOUT:g} s")
    report = f"{where}: `{line}` exited with {process.returncode}\n{err.decode()[-3000:]}"
    assert process.returncode == 0, report
    assert b"Traceback" not in err, report


async def _start_server(
    line: str,
    command: Command,
    env: dict[str, str],
    cwd: Path,
    localize: Any,
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", "exec " + line, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    printed = [
        (await asyncio.wait_for(process.stdout.readline(), 60)).decode().rstrip("\n")
        for _ in range(2)
    ]
    assert printed[0].startswith("INDICA_BASE_URL=http://127.0.0.1:"), (line, printed)
    assert printed[1].startswith("INDICA_API_KEY="), (line, printed)
    if command.shown:
        said = (await asyncio.wait_for(process.stderr.readline(), 10)).decode().rstrip("\n")
        assert [*printed, said] == [localize(shown) for shown in command.shown], line
    return process


def test_the_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = shell_blocks(ROOT / "README.md")[0]
    before = text.split("```sh", 1)[0].strip()
    assert before == "# indica-async"
    assert len(first.lines) == 2
    run_job, run_tests = first.lines
    assert run_job.startswith(
        "pip install '.[cli]' && python -m indica_async customers export --sandbox "
    )
    assert run_tests == "pip install -e '.[test]' && python -m pytest"


def test_ci_runs_the_readme_test_command() -> None:
    run_tests = shell_blocks(ROOT / "README.md")[0].lines[1]
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert script[-1] == run_tests
