"""The click commands, and the mapping of every expected failure to an exit status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar, cast, get_args

import click
import orjson

from .._config import (
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_LIMIT,
    DEFAULT_MAX_LIMIT,
    ENV_API_KEY,
    ENV_BASE_URL,
)
from .._converters import encode_customer
from .._errors import IndicaError
from .._sansio import check_base_url, parse_range
from .._version import __version__
from ..models import Customer
from ..sandbox import FAULT_KINDS, FaultConfig, Sandbox, SandboxConfig, run_server
from ..sandbox._config import Distribution, Envelope, FaultKind, Plan
from ._connect import Connection, SandboxOptions, open_client
from ._exit import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CLIError,
    error,
    exit_code_for,
    say,
)
from ._export import ExportJob, run_export, summary_lines
from ._formats import FORMATS

__all__ = ["cli", "run"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: Customers a ``--sandbox`` run (and ``sandbox serve``) holds unless told otherwise.
DEFAULT_SANDBOX_CUSTOMERS = 10_000

_SANDBOX_OPTIONS = (
    "sandbox_customers",
    "sandbox_seed",
    "sandbox_distribution",
    "sandbox_latency",
    "sandbox_fault_rate",
)


def _api_options(command: F) -> F:
    """The options of every command that talks to the API."""
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
            "--sandbox",
            is_flag=True,
            help="Run against an in-process sandbox with synthetic customers; no key needed.",
        ),
        click.option(
            "--sandbox-customers",
            type=click.IntRange(min=0),
            default=DEFAULT_SANDBOX_CUSTOMERS,
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
    for option in reversed(options):
        command = option(command)
    return command


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE


def _connection(ctx: click.Context, params: dict[str, Any]) -> Connection:
    """Check the API options together and build the `Connection`."""
    sandbox = None
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
        base_url = DEFAULT_BASE_URL
    else:
        stray = [name for name in _SANDBOX_OPTIONS if _given(ctx, name)]
        if stray:
            option = "--" + stray[0].replace("_", "-")
            raise click.UsageError(f"{option} needs --sandbox", ctx)
        base_url = check_base_url(params["base_url"] or DEFAULT_BASE_URL)
    return Connection(
        base_url=base_url,
        api_key_env=params["api_key_env"],
        timeout=params["timeout"],
        max_retries=params["max_retries"],
        sandbox=sandbox,
    )


class _WarningLines(logging.Handler):
    """The SDK's log warnings (retries, unverified days) as ``indica-async: warning:`` lines.

    ``sys.stderr`` is looked up at each record: while the progress bar runs, rich has
    replaced it to print such lines above the bar.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            say("warning: " + " ".join(self.format(record).split()))
        except Exception:  # a log line must never break the export
            self.handleError(record)


def _route_sdk_warnings(*, show: bool) -> None:
    logger = logging.getLogger("indica_async")
    logger.handlers[:] = [_WarningLines() if show else logging.NullHandler()]
    logger.setLevel(logging.WARNING)
    logger.propagate = False


def _run(coro: Coroutine[Any, Any, T], *, interrupted: str = "interrupted") -> T:
    """``asyncio.run(coro)``; Ctrl-C cancels it at an await point, then exits 130."""

    async def main() -> T:
        # Python 3.11+ runs this already (asyncio.run cancels the main task on SIGINT).
        # On 3.10 the KeyboardInterrupt would land anywhere, even between writing a page
        # and saving the state; cancelling at an await keeps the stop clean there too.
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        interrupted_here = False

        def cancel() -> None:
            nonlocal interrupted_here
            interrupted_here = True
            if task is not None:
                task.cancel()

        installed = False
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGINT, cancel)
                installed = True
        try:
            return await coro
        except asyncio.CancelledError:
            if interrupted_here:
                raise KeyboardInterrupt from None
            raise
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        raise CLIError(interrupted, EXIT_INTERRUPTED) from None


# --- the commands --------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name=PROG)
def cli() -> None:
    """Export and look up IndicaOnline customers (open API v2.3).

    The API key is read from an environment variable (INDICA_API_KEY by default),
    never from an argument. Try any command with --sandbox: no key needed.
    """


@cli.group()
def customers() -> None:
    """The customers endpoints: a complete export, or one customer."""


@customers.command("export")
@click.option("--start-date", required=True, metavar="YYYY-MM-DD", help="First creation day.")
@click.option(
    "--end-date", required=True, metavar="YYYY-MM-DD", help="Last creation day (inclusive)."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=DEFAULT_LIMIT,
    show_default=True,
    metavar="N",
    help="Customers asked per request.",
)
@click.option(
    "--max-limit",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_LIMIT,
    show_default=True,
    metavar="N",
    help="The largest limit asked for when re-fetching a window or day found full.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    metavar="N",
    help="Requests in flight at most.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="jsonl",
    show_default=True,
    help="JSON lines in the API's shape, or CSV with a fixed header.",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    metavar="PATH|-",
    help="Where to write; - is stdout.",
)
@click.option(
    "--resume",
    metavar="STATE",
    type=click.Path(dir_okay=False),
    help="Resumable export: progress is saved in this JSON file after every page, and a "
    "rerun with the same arguments continues where the last one stopped.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@_api_options
@click.pass_context
def export_command(
    ctx: click.Context,
    /,
    start_date: str,
    end_date: str,
    limit: int,
    max_limit: int,
    concurrency: int,
    fmt: str,
    output: str,
    resume: str | None,
    quiet: bool,
    **api: Any,
) -> int:
    """Every customer created from --start-date to --end-date, in date order."""
    start, end = parse_range(start_date, end_date)
    if resume is not None:
        if output == "-":
            raise click.UsageError("--resume needs --output PATH (not stdout)", ctx)
        if os.path.abspath(resume) == os.path.abspath(output):
            raise click.UsageError("--resume and --output must be different files", ctx)
    connection = _connection(ctx, api)
    api_key = connection.api_key()
    job = ExportJob(
        start=start,
        end=end,
        limit=limit,
        max_limit=max_limit,
        concurrency=concurrency,
        format=cast(Any, fmt),
        output=output,
        resume=resume,
    )
    _route_sdk_warnings(show=not quiet)
    interrupted = "interrupted"
    if resume is not None:
        interrupted += f"; progress is saved in {resume}: run the same command to continue"
    report = _run(
        run_export(
            job,
            connection,
            api_key=api_key,
            show_progress=not quiet and sys.stderr.isatty(),
        ),
        interrupted=interrupted,
    )
    if not quiet:
        for line in summary_lines(report):
            say(line)
    return EXIT_OK


@customers.command("get")
@click.argument("customer_id", type=int, required=False, metavar="[ID]")
@click.option("--state-id", metavar="SID", help="Look the customer up by state ID number.")
@_api_options
@click.pass_context
def get_command(
    ctx: click.Context, /, customer_id: int | None, state_id: str | None, **api: Any
) -> int:
    """One customer, by ID or by --state-id, as JSON on stdout (PRO plan only)."""
    if (customer_id is None) == (state_id is None):
        raise click.UsageError("give either a customer ID or --state-id", ctx)
    connection = _connection(ctx, api)
    api_key = connection.api_key()

    _route_sdk_warnings(show=True)

    async def fetch() -> Customer:
        async with open_client(connection, api_key=api_key) as client:
            if state_id is not None:
                return await client.customers.get_by_state_id(state_id)
            assert customer_id is not None
            return await client.customers.get(customer_id)

    customer = _run(fetch())
    sys.stdout.buffer.write(
        orjson.dumps(encode_customer(customer), option=orjson.OPT_APPEND_NEWLINE)
    )
    sys.stdout.buffer.flush()
    return EXIT_OK


@cli.group("sandbox")
def sandbox_group() -> None:
    """The local IndicaOnline double, for trying the SDK and the CLI without a key."""


def _fault_kinds(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[FaultKind, ...]:
    if value is None:
        return FAULT_KINDS
    kinds = tuple(kind.strip() for kind in value.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
    if unknown or not kinds:
        raise click.BadParameter(
            f"unknown fault kinds {', '.join(unknown) or '(none)'}; "
            f"choose from {','.join(FAULT_KINDS)}",
            ctx,
            param,
        )
    return cast(tuple[FaultKind, ...], kinds)


@sandbox_group.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, metavar="HOST", help="Interface to bind."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    metavar="N",
    help="Port to bind; 0 picks a free one.",
)
@click.option(
    "--customers",
    "customer_count",
    type=click.IntRange(min=0),
    default=DEFAULT_SANDBOX_CUSTOMERS,
    show_default=True,
    metavar="N",
    help="How many customers it holds.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, metavar="N", help="The seed of the data."
)
@click.option(
    "--distribution",
    type=click.Choice(get_args(Distribution)),
    default="uniform",
    show_default=True,
    help="How sign-ups spread over the days.",
)
@click.option(
    "--start-date",
    default="2024-01-01",
    show_default=True,
    metavar="YYYY-MM-DD",
    help="First creation day of the data.",
)
@click.option(
    "--end-date",
    default="2024-12-31",
    show_default=True,
    metavar="YYYY-MM-DD",
    help="Last creation day of the data.",
)
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    metavar="X",
    help="Share of requests that get a fault.",
)
@click.option(
    "--fault-kinds",
    callback=_fault_kinds,
    metavar="K,K",
    help=f"Which faults, comma-separated, from: {', '.join(FAULT_KINDS)}. [default: all]",
)
@click.option(
    "--latency",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="S",
    help="Seconds added to every response.",
)
@click.option(
    "--limit-cap",
    type=click.IntRange(min=1),
    metavar="N",
    help="Silently return at most N customers per list request, as some servers do.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="RPS",
    help="Requests per second allowed; beyond it, 429.",
)
@click.option(
    "--envelope",
    type=click.Choice(get_args(Envelope)),
    default="bare",
    show_default=True,
    help='List responses as a bare array, or as {"data": [...]}.',
)
@click.option(
    "--plan",
    type=click.Choice(get_args(Plan)),
    default="pro",
    show_default=True,
    help="basic answers 403 to the lookups by ID and state ID.",
)
def serve_command(
    host: str,
    port: int,
    customer_count: int,
    seed: int,
    distribution: str,
    start_date: str,
    end_date: str,
    fault_rate: float,
    fault_kinds: tuple[FaultKind, ...],
    latency: float,
    limit_cap: int | None,
    rate_limit: float | None,
    envelope: str,
    plan: str,
) -> int:
    """Serve the sandbox until Ctrl-C; prints INDICA_BASE_URL=... and INDICA_API_KEY=...."""
    start, end = parse_range(start_date, end_date)
    try:
        config = SandboxConfig(
            seed=seed,
            customers=customer_count,
            start_date=start,
            end_date=end,
            distribution=cast(Distribution, distribution),
            envelope=cast(Envelope, envelope),
            limit_cap=limit_cap,
            plan=cast(Plan, plan),
            latency=latency,
            rate_limit=rate_limit,
            faults=FaultConfig(rate=fault_rate, kinds=fault_kinds),
        )
    except ValueError as exc:
        raise CLIError(f"bad sandbox setting: {exc}") from None

    def ready(sandbox: Sandbox) -> None:
        # stdout holds only the two assignments, so scripts can read or eval them.
        print(f"{ENV_BASE_URL}={sandbox.base_url}", flush=True)
        print(f"{ENV_API_KEY}={sandbox.api_key}", flush=True)
        say(
            f"sandbox: {len(sandbox.records):,} customers created {start} to {end}, "
            f"plan {plan}; Ctrl-C stops it"
        )

    run_server(config, host=host, port=port, ready=ready)
    return EXIT_OK


# --- running -------------------------------------------------------------------------

#: click 8.2+ raises this for a group run without a command (8.1 prints help, exits 0).
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` and return the exit status (no traceback for
    expected failures)."""
    try:
        result = cli.main(args=argv, prog_name=PROG, standalone_mode=False)
    except _NO_ARGS_IS_HELP as exc:
        exc.show()
        return EXIT_USAGE
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        error(exc.format_message() + hint)
        return EXIT_USAGE
    except click.ClickException as exc:
        error(exc.format_message())
        return exc.exit_code
    except click.Abort:
        say("interrupted")
        return EXIT_INTERRUPTED
    except CLIError as exc:
        if exc.code == EXIT_INTERRUPTED:
            say(exc.message)
        else:
            error(exc.message)
        return exc.code
    except IndicaError as exc:
        code = exit_code_for(exc)
        if code is None:
            raise
        error(exc)
        return code
    except BrokenPipeError:
        # The reader went away (``| head``): quiet, and no second error when Python
        # flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except OSError as exc:
        error(exc)
        return EXIT_FAILURE
    return result if isinstance(result, int) else EXIT_OK


# The sync commands import the helpers above, so they are registered last.
from ._sync_cmd import changes_command, sync_command  # noqa: E402

customers.add_command(sync_command)
customers.add_command(changes_command)
from ._report_cmd import report_command  # noqa: E402

customers.add_command(report_command)
