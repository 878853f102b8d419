"""``indica-async customers export``: every customer of a date range, to a file or stdout."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, cast

import click

from ._connect import Connection, connection_options, walk_options
from ._dates import DATE, DATE_FORMS
from ._exit import say
from ._export import ExportJob, run_export, summary_lines
from ._formats import FORMATS, parse_fields
from ._running import run_async, sdk_warnings

__all__ = ["export_command"]


def _fields(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    if value is None:
        return None
    try:
        return parse_fields(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _failure_note(job: ExportJob) -> Callable[[], str]:
    """What a failed or interrupted run left behind, in plain words (asked after it)."""
    existed = job.output != "-" and os.path.exists(job.output)

    def note() -> str:
        if job.resume is not None:
            if os.path.exists(job.resume):
                return (
                    f"; progress is saved in {job.resume}: run the same command to continue "
                    f"({job.output} holds the customers so far)"
                )
            return f"; nothing was exported yet (no progress saved in {job.resume})"
        if job.output == "-":
            return "; the output on stdout is incomplete"
        if existed:
            return f"; {job.output} was left as it was (nothing of this run was written to it)"
        return f"; nothing was written ({job.output} was not created)"

    return note


@click.command("export")
@click.option("--start-date", required=True, type=DATE, help=f"First creation day: {DATE_FORMS}.")
@click.option("--end-date", required=True, type=DATE, help="Last creation day (inclusive).")
@walk_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="jsonl",
    show_default=True,
    help="JSON lines in the API's shape, or CSV with a fixed header.",
)
@click.option(
    "--fields",
    callback=_fields,
    metavar="F,F",
    help="Only these fields, in this order (e.g. id,email,address.city). [default: all]",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    metavar="PATH|-",
    help="Where to write; - is stdout. A name ending in .gz is gzip-compressed.",
)
@click.option(
    "--resume",
    metavar="STATE",
    type=click.Path(dir_okay=False),
    help="Resumable export: progress is saved in this JSON file after every page, and a "
    "rerun with the same arguments continues where the last one stopped.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@connection_options
def export_command(
    *,
    start_date: Any,
    end_date: Any,
    limit: int,
    max_limit: int,
    concurrency: int,
    fmt: str,
    fields: tuple[str, ...] | None,
    output: str,
    resume: str | None,
    quiet: bool,
    connection: Connection,
) -> None:
    """Every customer created from --start-date to --end-date, in date order."""
    if end_date < start_date:
        raise click.BadParameter(
            f"{end_date.isoformat()} is before --start-date {start_date.isoformat()}",
            param_hint="'--end-date'",
        )
    if resume is not None:
        if output == "-":
            raise click.UsageError("--resume needs --output PATH (not stdout)")
        if os.path.abspath(resume) == os.path.abspath(output):
            raise click.UsageError("--resume and --output must be different files")
    job = ExportJob(
        start=start_date,
        end=end_date,
        limit=limit,
        max_limit=max_limit,
        concurrency=concurrency,
        format=cast(Any, fmt),
        output=output,
        resume=resume,
        fields=fields,
    )
    with sdk_warnings(show=not quiet):
        report = run_async(
            run_export(job, connection, show_progress=not quiet and sys.stderr.isatty()),
            interrupted="interrupted",
            failure_note=_failure_note(job),
            max_limit=max_limit,
            base_url=connection.base_url,
        )
    if not quiet:
        for line in summary_lines(report):
            say(line)
