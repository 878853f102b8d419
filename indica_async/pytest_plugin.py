"""pytest fixtures that serve a local sandbox to your own tests.

pytest loads this plugin by itself once indica-async is installed (entry point
``indica_async``); nothing starts, and no sandbox code is imported, until a test
requests one of its fixtures:

``indica_sandbox_config``
    The `SandboxConfig` the sandbox is built from: 100 customers over 2024. Override
    it in a ``conftest.py`` to change the default for a directory.
``indica_sandbox``
    A running `Sandbox` for one test. Its ``records`` are the ground truth and its
    ``stats`` count what it saw.
``indica_client``
    An `AsyncIndicaClient` bound to that sandbox, closed after the test.
``indica_client_options``
    Keyword arguments for that client (``{}``); override it like the config.

Two markers set them per test, class or module (the closest marker wins)::

    @pytest.mark.indica_sandbox(customers=50, faults={"rate": 0.2, "kinds": ["503"]})
    @pytest.mark.indica_client(retry=8)
    async def test_export(indica_client, indica_sandbox):
        ids = [c.id async for c in indica_client.customers.iterate(
            start_date="2024-01-01", end_date="2024-12-31")]
        assert ids == list(indica_sandbox.records.ids)

``indica_sandbox`` takes any `SandboxConfig` field as a keyword (``faults`` as a
`FaultConfig` or a dict of its fields, dates as ``date`` or ``YYYY-MM-DD``), a
`SandboxConfig` as its one positional argument, and ``records=`` to serve customers
of your own. ``indica_client`` takes any `AsyncIndicaClient` keyword argument,
``api_key`` and ``base_url`` included.

The fixtures are async and need pytest-asyncio (``asyncio_mode = "auto"``, or mark
the tests with ``@pytest.mark.asyncio``). They run in the event loop of
``asyncio_default_fixture_loop_scope``, function-scoped by default: tests that use
them must run in the same loop. Without pytest-asyncio the plugin still loads, and a
test that requests a fixture fails with a message saying so.

Do not also list this module in ``pytest_plugins``: pytest would then register it
twice and stop. Where plugin autoloading is off, pass ``-p indica_async``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from ._client import AsyncIndicaClient
    from .sandbox import Sandbox, SandboxConfig, SandboxRecord, SandboxRecords

__all__ = [
    "DEFAULT_SANDBOX_CUSTOMERS",
    "indica_client",
    "indica_client_options",
    "indica_sandbox",
    "indica_sandbox_config",
]

#: Customers in the default sandbox: enough to span many windows, quick to generate.
DEFAULT_SANDBOX_CUSTOMERS = 100

SANDBOX_MARKER = "indica_sandbox"
CLIENT_MARKER = "indica_client"
_ASYNCIO_PLUGIN = "asyncio"  # pytest-asyncio's entry point name

_F = TypeVar("_F", bound=Callable[..., Any])


def _async_fixture(function: _F) -> _F:
    # pytest-asyncio is looked up at run time, not imported by name: the plugin must load
    # without it (the fixtures then fail with the message of `_indica_requires_asyncio`).
    try:
        pytest_asyncio = importlib.import_module("pytest_asyncio")
    except ImportError:
        return cast(_F, pytest.fixture(function))
    return cast(_F, pytest_asyncio.fixture(function))


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, so that ``--strict-markers`` accepts them."""
    config.addinivalue_line(
        "markers",
        f"{SANDBOX_MARKER}(config=None, *, records=None, **fields): the SandboxConfig "
        "fields (and records) of the indica_sandbox fixture for this test",
    )
    config.addinivalue_line(
        "markers",
        f"{CLIENT_MARKER}(**options): AsyncIndicaClient keyword arguments of the "
        "indica_client fixture for this test",
    )


@pytest.fixture
def _indica_requires_asyncio(request: pytest.FixtureRequest) -> None:
    # Requested first by the async fixtures, so that this message comes before pytest's
    # generic one about an async fixture no plugin handled.
    if request.config.pluginmanager.hasplugin(_ASYNCIO_PLUGIN):
        return
    try:
        installed = importlib.util.find_spec("pytest_asyncio") is not None
    except (ImportError, ValueError):
        installed = False
    missing = "its plugin is disabled (-p no:asyncio?)" if installed else "it is not installed"
    pytest.fail(
        "indica_sandbox and indica_client are async fixtures (of indica_async's pytest "
        f"plugin) and need pytest-asyncio, but {missing}: pip install pytest-asyncio, then "
        'set asyncio_mode = "auto" or mark the tests with @pytest.mark.asyncio',
        pytrace=False,
    )


@pytest.fixture
def indica_sandbox_config() -> SandboxConfig:
    """The sandbox's settings before markers apply: 100 customers created in 2024."""
    from .sandbox import SandboxConfig

    return SandboxConfig(customers=DEFAULT_SANDBOX_CUSTOMERS)


@pytest.fixture
def indica_client_options() -> dict[str, Any]:
    """Keyword arguments of `AsyncIndicaClient` before markers apply: none."""
    return {}


@_async_fixture
async def indica_sandbox(
    _indica_requires_asyncio: None,
    request: pytest.FixtureRequest,
    indica_sandbox_config: SandboxConfig,
) -> AsyncIterator[Sandbox]:
    """A sandbox serving on 127.0.0.1 for the duration of the test."""
    from .sandbox import Sandbox

    config, records = _sandbox_settings(request, indica_sandbox_config)
    async with Sandbox(config, records=records) as sandbox:
        yield sandbox


@_async_fixture
async def indica_client(
    _indica_requires_asyncio: None,
    request: pytest.FixtureRequest,
    indica_sandbox: Sandbox,
    indica_client_options: Mapping[str, Any],
) -> AsyncIterator[AsyncIndicaClient]:
    """A client of `indica_sandbox`, closed after the test."""
    from ._client import AsyncIndicaClient

    options: dict[str, Any] = {
        "api_key": indica_sandbox.api_key,
        "base_url": indica_sandbox.base_url,
        **indica_client_options,
    }
    for marker in _farthest_first(request, CLIENT_MARKER):
        if marker.args:
            _fail(f"@pytest.mark.{CLIENT_MARKER} takes keyword arguments only")
        options.update(marker.kwargs)
    try:
        client = AsyncIndicaClient(**options)
    except TypeError as exc:
        _fail(f"@pytest.mark.{CLIENT_MARKER}: {exc}")
    async with client:
        yield client


def _farthest_first(request: pytest.FixtureRequest, name: str) -> list[pytest.Mark]:
    # iter_markers yields the closest marker first; applying them in reverse lets a
    # function's marker override its class's, and a class's its module's.
    return list(request.node.iter_markers(name))[::-1]


def _sandbox_settings(
    request: pytest.FixtureRequest, base: SandboxConfig
) -> tuple[SandboxConfig, SandboxRecords | Iterable[SandboxRecord] | None]:
    import attrs

    from .sandbox import FaultConfig, SandboxConfig

    config = base
    records: SandboxRecords | Iterable[SandboxRecord] | None = None
    fields = {field.name for field in attrs.fields(SandboxConfig)}
    for marker in _farthest_first(request, SANDBOX_MARKER):
        if len(marker.args) > 1 or (marker.args and not isinstance(marker.args[0], SandboxConfig)):
            _fail(f"@pytest.mark.{SANDBOX_MARKER} takes one positional SandboxConfig at most")
        if marker.args:
            config = marker.args[0]
        changes = dict(marker.kwargs)
        if "records" in changes:
            records = changes.pop("records")
        unknown = sorted(set(changes) - fields)
        if unknown:
            _fail(
                f"@pytest.mark.{SANDBOX_MARKER} got unknown options {unknown}; "
                f"it takes records and the SandboxConfig fields: {', '.join(sorted(fields))}"
            )
        try:
            for name in ("start_date", "end_date"):
                if isinstance(changes.get(name), str):
                    changes[name] = dt.date.fromisoformat(changes[name])
            if isinstance(changes.get("faults"), Mapping):
                changes["faults"] = FaultConfig(**changes["faults"])
            config = attrs.evolve(config, **changes)
        except (TypeError, ValueError) as exc:
            _fail(f"@pytest.mark.{SANDBOX_MARKER}: {exc}")
    return config, records


def _fail(message: str) -> NoReturn:
    # "from None": the message says it all, without the exception it was raised in.
    raise pytest.fail.Exception(message, pytrace=False) from None
