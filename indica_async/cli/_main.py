"""The ``indica-async`` command group, and how the command line is run."""

from __future__ import annotations

from collections.abc import Sequence

import click

from .. import __version__
from ._accounts_cmd import accounts_group
from ._exit import PROG
from ._export_cmd import export_command
from ._get_cmd import get_command
from ._report_cmd import report_command
from ._sandbox_cmd import serve_command
from ._sync_cmd import changes_command, sync_command

__all__ = ["cli", "customers", "run", "sandbox"]


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Export and look up IndicaOnline customers (open API v2.3).

    The API key is read from an environment variable (INDICA_API_KEY by default),
    never from an argument. Try any command with --sandbox: no key needed.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.group()
def customers() -> None:
    """The customers endpoints: a complete export or one customer; a store kept in sync."""


@cli.group()
def sandbox() -> None:
    """The local IndicaOnline double, for trying the SDK and the CLI without a key."""


customers.add_command(export_command)
customers.add_command(get_command)
customers.add_command(sync_command)
customers.add_command(changes_command)
customers.add_command(report_command)
sandbox.add_command(serve_command)
cli.add_command(accounts_group)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); return the status.

    click's standalone mode prints errors (`CLIError` as one ``indica-async: error:``
    line) and picks the exit status.
    """
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name=PROG)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
