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
import sys
from collections.abc import AsyncIterator
from pathlib import Path

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


def python_snippets(path: Path) -> list[Snippet]:
    """The fenced ``python``/``py`` blocks of one Markdown file, with their marks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    snippets = []
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
        if language in ("python", "py"):
            above = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
            mark = above if above in (RUN_MARK, SKIP_MARK) else None
            code = "\n".join(lines[index + 1 : end]) + "\n"
            snippets.append(Snippet(path, index + 1, code, mark))
        index = end + 1
    return snippets


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
