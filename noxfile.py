"""Developer sessions: `nox -l` lists them, `nox -s NAME` runs one."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
BENCH_PEERS = ["httpx>=0.27,<1", "pydantic>=2.7,<3", "msgspec>=0.18,<1", "pytest-benchmark>=4,<6"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (what CI runs)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[cli,sync,workers,report]", "mypy>=1.10", "pytest>=8")
    session.run("mypy", "--strict", "indica_async")


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The full fault soak (100,000 customers, 30% faults); CI runs a reduced one."""
    session.install("-e", ".[test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/test_soak.py",
        "-p",
        "no:cacheprovider",
        "-s",
        *session.posargs,
        env={"INDICA_SOAK_FULL": "1"},
    )


@nox.session(python=PYTHON)
def package(session: nox.Session) -> None:
    """Build the wheel and sdist, install the wheel alone, import it, run the CLI."""
    session.install("build>=1")
    tmp = session.create_tmp()
    session.run("python", "-m", "build", "--outdir", tmp)
    wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
    session.install(f"{tmp}/{wheels[0]}[cli]")
    session.run("python", "-c", "import indica_async; print(indica_async.__version__)")
    session.run("indica-async", "--help", silent=True)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against peers (httpx + pydantic, msgspec); writes figures to stdout."""
    # The test extra too: pyproject carries pytest-asyncio and pytest-timeout settings.
    session.install("-e", ".[test]", *BENCH_PEERS)
    session.run("python", "-m", "benchmarks.run", *session.posargs)
    session.run(
        "python",
        "-m",
        "pytest",
        "benchmarks/test_decode_bench.py",
        "--benchmark-only",
        "-p",
        "no:cacheprovider",
    )
