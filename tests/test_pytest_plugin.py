"""Tests of indica_async.pytest_plugin, run as users run it: in test suites of their own.

Each test writes a small test suite with ``pytester`` and runs pytest on it. The entry
point may or may not be installed (an editable install made before it was added has
none), so every run blocks it by name and loads the module explicitly: registering the
one module under two names would make pytest stop with "Plugin already registered".
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

# Imported here, before pytester snapshots sys.modules, so that in-process runs reuse them
# instead of importing aiohttp afresh each time (pytester drops what a run imported). The
# plugin module too: so it is when pytest loads it through the installed entry point.
import indica_async.pytest_plugin
import indica_async.sandbox  # noqa: F401

pytest_plugins = ["pytester"]

#: Load the plugin whether or not its entry point is installed, and never twice. (And keep
#: hypothesis's plugin from importing hypothesis for its summary: a second per run.)
PLUGIN_ARGS = (
    "-p",
    "no:indica_async",
    "-p",
    "indica_async.pytest_plugin",
    "-p",
    "no:hypothesispytest",
)

# The plugin module may already be imported (by this module, or by pytest through the
# entry point), and then "-p" makes pytest warn that it cannot rewrite its asserts.
INI_AUTO = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings =
    error
    ignore:Module already imported:pytest.PytestAssertRewriteWarning
"""

INI_STRICT = INI_AUTO.replace("auto", "strict")

INI_NO_ASYNCIO = """
[pytest]
filterwarnings =
    error
    ignore:Module already imported:pytest.PytestAssertRewriteWarning
"""


def write(pytester: pytest.Pytester, ini: str, **files: str) -> None:
    pytester.makeini(ini)
    pytester.makepyfile(**{name: textwrap.dedent(body) for name, body in files.items()})


def run_subprocess(pytester: pytest.Pytester, *args: str, prelude: str = "") -> pytest.RunResult:
    """pytest in a fresh interpreter; ``prelude`` runs first (to hide a module, say)."""
    code = f"import sys\n{prelude}\nimport pytest\nsys.exit(pytest.main(sys.argv[1:]))"
    return pytester.run(sys.executable, "-c", code, "-p", "no:cacheprovider", *args, timeout=90)


FIXTURE_TESTS = """
    import datetime as dt

    import attrs
    import pytest

    from indica_async import (
        AsyncIndicaClient,
        AuthenticationError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        RetryPolicy,
    )
    from indica_async.sandbox import FaultConfig, Sandbox, SandboxConfig, SandboxRecord

    FAST = RetryPolicy(initial_backoff=0.001, max_backoff=0.01)


    async def test_default_sandbox_and_client(indica_sandbox, indica_client):
        assert isinstance(indica_sandbox, Sandbox)
        assert isinstance(indica_client, AsyncIndicaClient)
        assert len(indica_sandbox.records) == 100
        assert indica_client.base_url == indica_sandbox.base_url
        record = indica_sandbox.records[7]
        customer = await indica_client.customers.get(record.id)
        assert customer.id == record.id
        assert customer.state_id == record.state_id
        assert indica_sandbox.stats.by_endpoint["get"] == 1


    async def test_lookup_by_state_id_and_not_found(indica_sandbox, indica_client):
        record = next(r for r in indica_sandbox.records if r.state_id and "/" not in r.state_id)
        customer = await indica_client.customers.get_by_state_id(record.state_id)
        assert customer.id == record.id
        with pytest.raises(NotFoundError):
            await indica_client.customers.get(max(indica_sandbox.records.ids) + 1)


    @pytest.mark.indica_sandbox(customers=300, start_date="2024-03-01", end_date="2024-06-30")
    async def test_iterate_a_range(indica_sandbox, indica_client):
        first, last = dt.date(2024, 4, 1), dt.date(2024, 5, 15)
        lo, hi = indica_sandbox.records.created_range(first, last)
        expected = [indica_sandbox.records[i].id for i in range(lo, hi)]
        got = [c.id async for c in indica_client.customers.iterate(
            start_date=first, end_date=last, limit=10)]
        assert got == expected
        assert len(indica_sandbox.records) == 300


    @pytest.mark.indica_sandbox(
        customers=200, faults={"rate": 0.3, "kinds": ["503", "drop", "truncate"], "seed": 3}
    )
    @pytest.mark.indica_client(retry=attrs.evolve(FAST, max_retries=20))
    async def test_faults_are_retried(indica_sandbox, indica_client):
        got = [c.id async for c in indica_client.customers.iterate(
            start_date="2024-01-01", end_date="2024-12-31", limit=20)]
        assert got == list(indica_sandbox.records.ids)
        # aiohttp itself resends a request whose reused connection dropped, so the
        # client may see fewer failures than the sandbox injected.
        assert 0 < indica_client.stats.retries <= sum(indica_sandbox.stats.faults.values())


    @pytest.mark.indica_sandbox(faults=FaultConfig(rate=1.0, kinds=["429_seconds"], retry_after=7))
    @pytest.mark.indica_client(retry=0)
    async def test_rate_limit_surfaces_without_retries(indica_sandbox, indica_client):
        with pytest.raises(RateLimitError) as info:
            await indica_client.customers.get(indica_sandbox.records[0].id)
        assert info.value.retry_after == 7


    @pytest.mark.indica_sandbox(plan="basic")
    async def test_basic_plan(indica_sandbox, indica_client):
        with pytest.raises(PermissionDeniedError):
            await indica_client.customers.get(indica_sandbox.records[0].id)


    @pytest.mark.indica_client(api_key="not-the-key")
    async def test_client_options_override_the_key(indica_sandbox, indica_client):
        with pytest.raises(AuthenticationError) as info:
            await indica_client.customers.get(indica_sandbox.records[0].id)
        assert "not-the-key" not in str(info.value)


    @pytest.mark.indica_sandbox(
        records=[SandboxRecord.from_body(dt.date(2024, 2, 2), {"id": 12345, "state_id": "CA987654"})]
    )
    async def test_own_records(indica_sandbox, indica_client):
        assert indica_sandbox.records.ids == (12345,)
        customer = await indica_client.customers.get_by_state_id("CA987654")
        assert customer.id == 12345


    @pytest.mark.indica_sandbox(SandboxConfig(customers=5, seed=9))
    async def test_positional_config(indica_sandbox):
        assert indica_sandbox.config.seed == 9
        assert len(indica_sandbox.records) == 5


    @pytest.mark.indica_sandbox(customers=10, seed=4)
    class TestClassMarker:
        async def test_class_marker(self, indica_sandbox):
            assert len(indica_sandbox.records) == 10

        @pytest.mark.indica_sandbox(customers=20)
        async def test_closest_marker_wins(self, indica_sandbox):
            assert len(indica_sandbox.records) == 20
            assert indica_sandbox.config.seed == 4


    async def test_each_test_gets_its_own_sandbox(indica_sandbox):
        assert indica_sandbox.stats.requests == 0


    def test_a_plain_test_is_left_alone(request):
        # Nothing of the plugin's is set up for a test that does not ask for it.
        assert not {"indica_sandbox", "indica_client"} & set(request.fixturenames)
"""


def test_fixtures_and_markers(pytester: pytest.Pytester) -> None:
    write(pytester, INI_AUTO, test_users_suite=FIXTURE_TESTS)
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--strict-markers")
    result.assert_outcomes(passed=13)


def test_strict_mode(pytester: pytest.Pytester) -> None:
    write(
        pytester,
        INI_STRICT,
        test_strict="""
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.indica_sandbox(customers=30)
        async def test_fetch_every_customer(indica_sandbox, indica_client):
            got = [c.id async for c in indica_client.customers.iterate(
                start_date="2024-01-01", end_date="2024-12-31")]
            assert got == list(indica_sandbox.records.ids)
        """,
    )
    pytester.runpytest_inprocess(*PLUGIN_ARGS, "--strict-markers").assert_outcomes(passed=1)


def test_overriding_the_config_and_options_fixtures(pytester: pytest.Pytester) -> None:
    write(
        pytester,
        INI_AUTO,
        conftest="""
        import pytest
        from indica_async.sandbox import SandboxConfig

        @pytest.fixture
        def indica_sandbox_config():
            return SandboxConfig(customers=42, seed=5, envelope="data")

        @pytest.fixture
        def indica_client_options():
            return {"retry": 3}
        """,
        test_override="""
        import pytest

        async def test_conftest_defaults(indica_sandbox, indica_client):
            assert len(indica_sandbox.records) == 42
            assert indica_sandbox.config.envelope == "data"
            assert indica_client.retry.max_retries == 3

        @pytest.mark.indica_sandbox(customers=3)
        @pytest.mark.indica_client(retry=1)
        async def test_markers_apply_on_top(indica_sandbox, indica_client):
            assert len(indica_sandbox.records) == 3
            assert indica_sandbox.config.seed == 5
            assert indica_client.retry.max_retries == 1
        """,
    )
    pytester.runpytest_inprocess(*PLUGIN_ARGS).assert_outcomes(passed=2)


def test_bad_marker_arguments_fail_clearly(pytester: pytest.Pytester) -> None:
    write(
        pytester,
        INI_AUTO,
        test_bad="""
        import pytest

        @pytest.mark.indica_sandbox(customerz=5)
        async def test_unknown_field(indica_sandbox):
            pass

        @pytest.mark.indica_sandbox(customers=-1)
        async def test_invalid_value(indica_sandbox):
            pass

        @pytest.mark.indica_sandbox(start_date="soon")
        async def test_invalid_date(indica_sandbox):
            pass

        @pytest.mark.indica_client(timeoutt=3)
        async def test_unknown_client_option(indica_client):
            pass
        """,
    )
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS)
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(
        [
            "*indica_sandbox got unknown options ?'customerz'?; it takes records and*",
            "*indica_sandbox: customers must be an int >= 0, got -1*",
            "*indica_sandbox: Invalid isoformat string: 'soon'*",
            "*indica_client: *unexpected keyword argument 'timeoutt'*",
        ],
        consecutive=False,
    )


NEEDS_ASYNCIO_TESTS = """
    import sys

    def test_unrelated_tests_run():
        # The plugin is loaded, yet nothing of the sandbox is: no fixture was requested.
        assert "indica_async.pytest_plugin" in sys.modules
        assert "indica_async.sandbox" not in sys.modules

    async def test_uses_the_client(indica_client):
        pass
"""


HIDE_PYTEST_ASYNCIO = """
class HidePytestAsyncio:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pytest_asyncio":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HidePytestAsyncio())
"""


def test_without_pytest_asyncio_installed(pytester: pytest.Pytester) -> None:
    write(pytester, INI_NO_ASYNCIO, test_no_asyncio=NEEDS_ASYNCIO_TESTS)
    # Hide pytest-asyncio as if it were not installed (and keep pytest from loading it).
    hide = HIDE_PYTEST_ASYNCIO
    # --assert=plain: the assertion rewriter would find the hidden module on sys.path.
    args = ("--assert=plain", "-p", "no:asyncio", *PLUGIN_ARGS)
    result = run_subprocess(pytester, *args, prelude=hide)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*indica_sandbox and indica_client are async fixtures (of indica_async's pytest "
            "plugin) and need pytest-asyncio, but it is not installed: pip install pytest-asyncio*"
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_with_pytest_asyncio_disabled(pytester: pytest.Pytester) -> None:
    write(
        pytester,
        INI_NO_ASYNCIO,
        test_disabled="""
        async def test_uses_the_sandbox(indica_sandbox):
            pass
        """,
    )
    result = pytester.runpytest_inprocess("-p", "no:asyncio", *PLUGIN_ARGS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*need pytest-asyncio, but its plugin is disabled*"])


def fake_installed_entry_point(directory: Path) -> dict[str, str]:
    """An environment in which the ``pytest11`` entry point looks installed."""
    dist_info = directory / "indica_async_entry_point-0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: indica-async-entry-point\nVersion: 0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[pytest11]\nindica_async = indica_async.pytest_plugin\n"
    )
    path = os.pathsep.join(filter(None, [str(directory), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path}


@pytest.mark.parametrize(
    "args",
    [
        pytest.param((), id="entry-point-alone"),
        pytest.param(PLUGIN_ARGS, id="entry-point-blocked-module-loaded"),
        pytest.param(("-p", "indica_async"), id="by-entry-point-name"),
    ],
)
def test_with_the_entry_point_installed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    sitedir = pytester.mkdir("site")
    for name, value in fake_installed_entry_point(sitedir).items():
        monkeypatch.setenv(name, value)
    write(
        pytester,
        INI_AUTO,
        test_installed="""
        import pytest

        @pytest.mark.indica_sandbox(customers=12)
        async def test_plugin_is_active(indica_sandbox, indica_client):
            record = indica_sandbox.records[-1]
            assert (await indica_client.customers.get(record.id)).id == record.id
        """,
    )
    result = run_subprocess(pytester, "--strict-markers", "-p", "no:hypothesispytest", *args)
    result.assert_outcomes(passed=1)


def docs_example() -> str:
    """The test module that docs/testing.md shows, marked there with <!-- test: pytest -->."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "testing.md").read_text("utf-8")
    after_mark = text.split("<!-- test: pytest -->", 1)[1]
    return after_mark.split("```python\n", 1)[1].split("\n```", 1)[0] + "\n"


def test_the_documented_example(pytester: pytest.Pytester) -> None:
    write(pytester, INI_AUTO, test_documented=docs_example())
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--strict-markers")
    result.assert_outcomes(passed=4)
