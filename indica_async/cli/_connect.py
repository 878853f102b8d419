"""Where commands send requests, as one reusable set of options and one client opener.

Every command that talks to the API takes `connection_options`: the base URL or an
in-process ``--sandbox``, where the key comes from, timeouts, retries and
``--verbose``. The decorated command receives one ``connection: Connection`` argument
in place of those options, and opens its client with `open_client`::

    @click.command()
    @connection_options
    def count(connection: Connection) -> None:
        async def main() -> int:
            async with open_client(connection) as client:
                return len(await client.customers.list(start_date=..., end_date=...))
        run_async(main(), base_url=connection.base_url)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any, Final, TypeVar, cast, get_args
from urllib.parse import urlsplit

import aiohttp
import attrs
import click

from .. import (
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_LIMIT,
    DEFAULT_MAX_LIMIT,
    AsyncIndicaClient,
    RetryPolicy,
)
from ..sandbox import DEFAULT_CUSTOMERS, Distribution, FaultConfig, Sandbox, SandboxConfig
from ._exit import EXIT_AUTH, EXIT_REMOTE, CLIError, say

__all__ = [
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "Connection",
    "SandboxOptions",
    "connection_options",
    "open_client",
    "walk_options",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The environment variables the SDK reads (documented in the README).
ENV_API_KEY: Final = "INDICA_API_KEY"
ENV_BASE_URL: Final = "INDICA_BASE_URL"
#: Seconds the first connection to the API may take before the command gives up.
PREFLIGHT_TIMEOUT: Final = 10.0
#: Requests in flight at most on the session of a ``--verbose`` run (the client's default).
_CONNECTIONS: Final = 16

_SANDBOX_OPTIONS: Final = (
    "sandbox_customers",
    "sandbox_seed",
    "sandbox_distribution",
    "sandbox_latency",
    "sandbox_fault_rate",
)
_CONNECTION_PARAMS: Final = (
    "base_url",
    "api_key_env",
    "timeout",
    "max_retries",
    "max_retry_time",
    "verbose",
    "sandbox",
    *_SANDBOX_OPTIONS,
)


@attrs.frozen(kw_only=True)
class SandboxOptions:
    """The in-process sandbox of ``--sandbox``: its data and how it serves it."""

    customers: int = DEFAULT_CUSTOMERS
    seed: int = 0
    distribution: str = "uniform"
    latency: float = 0.0
    fault_rate: float = 0.0

    def content_args(self) -> dict[str, Any]:
        """The settings that decide which customers exist (not latency or faults)."""
        return {"customers": self.customers, "seed": self.seed, "distribution": self.distribution}

    def config(self, start: dt.date | None = None, end: dt.date | None = None) -> SandboxConfig:
        """The sandbox's config, its data spanning ``start``..``end`` (default: its own)."""
        defaults = SandboxConfig(customers=0)
        try:
            return SandboxConfig(
                customers=self.customers,
                seed=self.seed,
                distribution=cast(Distribution, self.distribution),
                latency=self.latency,
                faults=FaultConfig(rate=self.fault_rate),
                start_date=start or defaults.start_date,
                end_date=end or defaults.end_date,
            )
        except ValueError as exc:
            raise CLIError(f"bad sandbox setting: {exc}") from None


@attrs.frozen(kw_only=True)
class Connection:
    """The options every command that talks to the API shares."""

    #: The API's base URL; `DEFAULT_BASE_URL` (unused) with a sandbox.
    base_url: str = DEFAULT_BASE_URL
    api_key_env: str = ENV_API_KEY
    timeout: float | None = None
    max_retries: int | None = None
    max_retry_time: float | None = None
    #: Print each request (method, path template and query, status, time) on stderr.
    verbose: bool = False
    sandbox: SandboxOptions | None = None

    def api_key(self) -> str | None:
        """The key from the environment (``None`` with a sandbox, which brings its own)."""
        if self.sandbox is not None:
            return None
        key = os.environ.get(self.api_key_env, "")
        if not key.strip():
            raise CLIError(
                f"no API key: set the {self.api_key_env} environment variable "
                "(or name another with --api-key-env), or try --sandbox",
                EXIT_AUTH,
            )
        return key

    def retry_policy(self) -> RetryPolicy:
        """The SDK's policy with this connection's ``--max-retries``/``--max-retry-time``."""
        changes: dict[str, Any] = {}
        if self.max_retries is not None:
            changes["max_retries"] = self.max_retries
        if self.max_retry_time is not None:
            changes["max_retry_time"] = self.max_retry_time
        return RetryPolicy(**changes)


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE


def _connection(ctx: click.Context, params: dict[str, Any]) -> Connection:
    """Check the connection options together and build the `Connection`."""
    sandbox = None
    base_url = DEFAULT_BASE_URL
    if params["sandbox"]:
        if _given(ctx, "base_url"):
            raise click.UsageError("--sandbox and --base-url exclude each other", ctx)
        sandbox = SandboxOptions(
            customers=params["sandbox_customers"],
            seed=params["sandbox_seed"],
            distribution=params["sandbox_distribution"],
            latency=params["sandbox_latency"],
            fault_rate=params["sandbox_fault_rate"],
        )
    else:
        stray = [name for name in _SANDBOX_OPTIONS if _given(ctx, name)]
        if stray:
            option = "--" + stray[0].replace("_", "-")
            raise click.UsageError(f"{option} needs --sandbox", ctx)
        base_url = params["base_url"] or DEFAULT_BASE_URL
    return Connection(
        base_url=base_url,
        api_key_env=params["api_key_env"],
        timeout=params["timeout"],
        max_retries=params["max_retries"],
        max_retry_time=params["max_retry_time"],
        verbose=params["verbose"],
        sandbox=sandbox,
    )


def walk_options(command: F) -> F:
    """Add the window walk's ``--limit``, ``--max-limit`` and ``--concurrency``."""
    options = [
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            default=DEFAULT_LIMIT,
            show_default=True,
            metavar="N",
            help="Customers asked per request.",
        ),
        click.option(
            "--max-limit",
            type=click.IntRange(min=1),
            default=DEFAULT_MAX_LIMIT,
            show_default=True,
            metavar="N",
            help="The largest limit asked for when re-fetching a window or day found full.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(min=1),
            default=DEFAULT_CONCURRENCY,
            show_default=True,
            metavar="N",
            help="Requests in flight at most.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def connection_options(command: F) -> F:
    """Add the connection options to a click command; it receives ``connection=``.

    The options: ``--base-url`` (or ``$INDICA_BASE_URL``), ``--api-key-env``,
    ``--timeout``, ``--max-retries``, ``--max-retry-time``, ``--verbose``, ``--sandbox``
    and the ``--sandbox-*`` settings. They are checked together (``--sandbox-*`` needs
    ``--sandbox``, which excludes ``--base-url``) before the command runs.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        params = {name: kwargs.pop(name) for name in _CONNECTION_PARAMS}
        connection = _connection(click.get_current_context(), params)
        return command(*args, connection=connection, **kwargs)

    options = [
        click.option(
            "--base-url",
            envvar=ENV_BASE_URL,
            show_envvar=True,
            metavar="URL",
            help=f"The API's base URL. [default: {DEFAULT_BASE_URL}]",
        ),
        click.option(
            "--api-key-env",
            default=ENV_API_KEY,
            show_default=True,
            metavar="NAME",
            help="The environment variable holding the API key (never pass the key itself).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="S",
            help="Seconds one request attempt may take. [default: 60]",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(min=0),
            metavar="N",
            help="Retries of a transient failure (429, 5xx, reset, timeout). [default: 5]",
        ),
        click.option(
            "--max-retry-time",
            type=click.FloatRange(min=0, min_open=True),
            metavar="S",
            help="Seconds one request may spend across its attempts and waits. [default: 180]",
        ),
        click.option(
            "--verbose",
            "-v",
            is_flag=True,
            help="Print each request on stderr: method, path, query, status, time (never the key).",
        ),
        click.option(
            "--sandbox",
            is_flag=True,
            help="Run against an in-process sandbox with synthetic customers; no key needed.",
        ),
        click.option(
            "--sandbox-customers",
            type=click.IntRange(min=0),
            default=DEFAULT_CUSTOMERS,
            show_default=True,
            metavar="N",
            help="With --sandbox: how many customers it holds.",
        ),
        click.option(
            "--sandbox-seed",
            type=int,
            default=0,
            show_default=True,
            metavar="N",
            help="With --sandbox: the seed of its data.",
        ),
        click.option(
            "--sandbox-distribution",
            type=click.Choice(get_args(Distribution)),
            default="uniform",
            show_default=True,
            help="With --sandbox: how sign-ups spread over the days.",
        ),
        click.option(
            "--sandbox-latency",
            type=click.FloatRange(min=0),
            default=0.0,
            metavar="S",
            help="With --sandbox: seconds added to every response.",
        ),
        click.option(
            "--sandbox-fault-rate",
            type=click.FloatRange(0, 1),
            default=0.0,
            metavar="X",
            help="With --sandbox: share of requests that fail transiently (to try retries).",
        ),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return cast(F, decorated)


# --- opening a client ----------------------------------------------------------------

_ID_SEGMENT: Final = re.compile(r"/customers/(?!state-id/)[^/]+$")
_STATE_ID_SEGMENT: Final = re.compile(r"/customers/state-id/[^/]+$")


def _path_template(url: str, prefix: str) -> str:
    """The request's path below the base URL, ids replaced: no personal data in a log."""
    parts = urlsplit(url)
    path = parts.path[len(prefix) :] if parts.path.startswith(prefix) else parts.path
    path = _STATE_ID_SEGMENT.sub("/customers/state-id/{state_id}", path)
    path = _ID_SEGMENT.sub("/customers/{id}", path)
    return f"{path}?{parts.query}" if parts.query else path


def _request_log(base_url: str) -> aiohttp.TraceConfig:
    """One stderr line per request: method, path template and query, status, time."""
    prefix = urlsplit(base_url).path.rstrip("/")
    trace = aiohttp.TraceConfig()

    async def start(_: Any, context: SimpleNamespace, params: Any) -> None:
        context.began = time.monotonic()

    def line(context: SimpleNamespace, method: str, url: object, outcome: str) -> None:
        elapsed = time.monotonic() - getattr(context, "began", time.monotonic())
        say(f"{method} {_path_template(str(url), prefix)} -> {outcome} in {elapsed:.2f} s")

    async def end(_: Any, context: SimpleNamespace, params: Any) -> None:
        line(context, params.method, params.url, str(params.response.status))

    async def failed(_: Any, context: SimpleNamespace, params: Any) -> None:
        line(context, params.method, params.url, type(params.exception).__name__)

    trace.on_request_start.append(start)
    trace.on_request_end.append(end)
    trace.on_request_exception.append(failed)
    return trace


async def _check_reachable(base_url: str, timeout: float) -> None:
    """Fail in seconds, naming host and port, when the API's host cannot be reached.

    Without this, a refused connection is retried as transient for half a minute.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except asyncio.TimeoutError:
        raise CLIError(
            f"cannot connect to {host}:{port}: no answer within {timeout:g} s", EXIT_REMOTE
        ) from None
    except OSError as exc:
        if isinstance(exc, socket.gaierror) or not exc.errno:
            reason = exc.strerror or type(exc).__name__
        else:
            reason = os.strerror(exc.errno).lower()  # asyncio's own text repeats the address
        raise CLIError(f"cannot connect to {host}:{port}: {reason}", EXIT_REMOTE) from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


@contextlib.asynccontextmanager
async def open_client(
    connection: Connection,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> AsyncIterator[AsyncIndicaClient]:
    """A client for the API, or for a sandbox started here (its customers created from
    ``start`` to ``end``, default 2024); everything is closed on the way out.

    Raises `CLIError` when there is no key, or the API's host cannot be reached.
    """
    api_key = connection.api_key()
    async with contextlib.AsyncExitStack() as stack:
        base_url = connection.base_url
        if connection.sandbox is not None:
            sandbox = Sandbox(connection.sandbox.config(start, end))
            await stack.enter_async_context(sandbox)
            base_url, api_key = sandbox.base_url, sandbox.api_key
        session = None
        if connection.verbose:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=_CONNECTIONS),
                timeout=aiohttp.ClientTimeout(total=None),
                trace_configs=[_request_log(base_url)],
            )
            await stack.enter_async_context(session)
        client = AsyncIndicaClient(
            api_key,
            base_url=base_url,
            timeout=connection.timeout,
            retry=connection.retry_policy(),
            session=session,
        )
        await stack.enter_async_context(client)
        if connection.sandbox is None:
            await _check_reachable(client.base_url, PREFLIGHT_TIMEOUT)
        yield client
