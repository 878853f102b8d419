"""``customers report``: what a dispensary would ask of its customer base, as one HTML page.

The work (SQLAlchemy, Jinja2: the ``sync`` and ``report`` extras) is imported only
when the command runs.
"""

from __future__ import annotations

import datetime as dt
import os
from types import ModuleType

import click

from ._dates import DATE
from ._exit import EXIT_USAGE, CLIError, say
from ._running import run_async

__all__ = ["report_command"]


def _engine() -> ModuleType:
    try:
        from . import _report_run
    except ImportError as exc:
        raise CLIError(
            f"report needs the report extra ({exc.name} is missing): "
            "pip install 'indica-async[report]'",
            EXIT_USAGE,
        ) from None
    return _report_run


@click.command("report")
@click.option("--db", required=True, metavar="PATH|URL", help="The store (see sync).")
@click.option("--account", default="default", show_default=True, metavar="NAME")
@click.option(
    "--output",
    "-o",
    default="report.html",
    show_default=True,
    metavar="PATH",
    help="The HTML page: one file, no network needed to open it.",
)
@click.option(
    "--action-list-csv",
    metavar="PATH",
    help="Also write every expiring recommendation and state ID, with names and contacts "
    "(personal data), as CSV.",
)
@click.option(
    "--json",
    "json_path",
    metavar="PATH",
    help="Also write every figure as JSON (aggregates only, no action list).",
)
@click.option(
    "--json-action-list",
    is_flag=True,
    help="Put the action list, with names and contacts (personal data), in the --json file too.",
)
@click.option(
    "--as-of", type=DATE, help="The day the report is made for (expiries, ages). [default: today]"
)
@click.option("--quiet", "-q", is_flag=True, help="No summary.")
@click.pass_context
def report_command(
    ctx: click.Context,
    /,
    db: str,
    account: str,
    output: str,
    action_list_csv: str | None,
    json_path: str | None,
    json_action_list: bool,
    as_of: dt.date | None,
    quiet: bool,
) -> None:
    """New customers and their trend, customer types, expiring recommendations and state
    IDs (with the list of whom to contact), marketing reach, demographics, data quality
    and the last sync's changes: from the store, with no request to the API."""
    if json_action_list and json_path is None:
        raise click.UsageError("--json-action-list needs --json PATH", ctx)
    outputs = [path for path in (output, action_list_csv, json_path) if path is not None]
    if "://" not in db and any(os.path.abspath(path) == os.path.abspath(db) for path in outputs):
        raise click.UsageError("an output file may not be the store itself", ctx)
    if len({os.path.abspath(path) for path in outputs}) < len(outputs):
        raise click.UsageError("--output, --action-list-csv and --json need different files", ctx)
    engine = _engine()
    with engine.store_errors():
        report = run_async(engine.load_report(db, account, today=as_of or dt.date.today()))
    written = engine.write_outputs(
        report,
        output=output,
        action_list_csv=action_list_csv,
        json_path=json_path,
        json_action_list=json_action_list,
    )
    if not quiet:
        for line in [*engine.summary_lines(report), *written]:
            say(line)
