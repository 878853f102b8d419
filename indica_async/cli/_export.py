"""``customers export``: walk the range in date order and append each page to the output.

Without ``--resume`` the pages go to a temporary file next to the output, renamed over
it only once the export is complete: a failed run leaves no partial file behind. With
``--resume`` they go to the output itself, made durable page by page. An output whose
name ends in ``.gz`` is gzip-compressed, one gzip member per page (concatenated
members are one valid gzip file, and each page's end stays a place to resume from).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, BinaryIO

import attrs

from .. import Page, Progress
from ._atomic import replaceable, temporary_beside
from ._connect import Connection, open_client
from ._exit import EXIT_FAILURE, CLIError
from ._formats import ExportFormat, Format, export_format
from ._resume import (
    ResumeState,
    StateError,
    describe_mismatch,
    fingerprint,
    load_state,
    restore_output,
    save_state,
    sync,
)

__all__ = ["ExportJob", "ExportReport", "run_export", "summary_lines"]

_ONE_DAY = dt.timedelta(days=1)


@attrs.frozen(kw_only=True)
class ExportJob:
    """What to export and where."""

    start: dt.date
    end: dt.date
    limit: int
    max_limit: int
    concurrency: int
    format: Format
    #: A path, or ``"-"`` for stdout.
    output: str
    #: The resume state file, if any.
    resume: str | None = None
    #: The columns ``--fields`` chose, or ``None`` for all.
    fields: tuple[str, ...] | None = None

    @property
    def compressed(self) -> bool:
        """Whether the output is gzip-compressed (its name ends in ``.gz``)."""
        return self.output != "-" and self.output.endswith(".gz")

    def content_args(self, connection: Connection) -> dict[str, Any]:
        """The arguments that decide the output's bytes: they make the resume fingerprint.

        Concurrency and limits change how the range is fetched, not what it holds.
        """
        source: dict[str, Any]
        if connection.sandbox is not None:
            source = {"sandbox": connection.sandbox.content_args()}
        else:
            source = {"base_url": connection.base_url}
        args = {
            "command": "customers export",
            "start_date": self.start.isoformat(),
            "end_date": self.end.isoformat(),
            "format": self.format,
            "output": os.path.abspath(self.output),
            "source": source,
        }
        if self.fields is not None:  # absent when unset: older state files still match
            args["fields"] = list(self.fields)
        return args


@attrs.define(kw_only=True)
class ExportReport:
    """What one run did, for the summary."""

    output: str
    customers: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    windows_split: int = 0
    limits_escalated: int = 0
    server_cap: int | None = None
    unverified_days: Mapping[dt.date, int] = attrs.Factory(dict)
    elapsed: float = 0.0
    #: Set when this run continued a saved state: its first day, and the file's total.
    resumed_at: dt.date | None = None
    total_customers: int | None = None
    #: The state said the export was already complete: nothing was done.
    already_complete: bool = False


class _PageWriter:
    """Appends pages to the output; with a state file, each page is made durable first.

    Without a state file, a file output is written to a temporary file in the same
    directory and renamed over the output by `finish` only: a failed run leaves the
    output as it was. With a state file, the output is opened at the first page, so
    that a run failing before any data arrives (a wrong key, say) leaves it alone.
    """

    def __init__(
        self,
        job: ExportJob,
        fmt: ExportFormat,
        *,
        state: ResumeState | None,
        stream: BinaryIO | None = None,
    ) -> None:
        self._output = job.output
        self._state_path = job.resume
        self._fmt = fmt
        self._compress = job.compressed
        self._state = state
        self._stream = stream
        self._owned = stream is not None
        self._temporary: str | None = None
        self._target = self._output
        self._offset = state.output_bytes if state is not None and stream is not None else 0

    def _checkpoint(self, stream: BinaryIO, state: ResumeState | None) -> None:
        # Data first, state second: the state never claims bytes the disk lacks.
        if state is None or self._state_path is None:
            return
        sync(stream)
        save_state(self._state_path, state)
        self._state = state

    def _bytes(self, data: bytes) -> bytes:
        # mtime=0: the same customers give the same bytes, run after run.
        return gzip.compress(data, mtime=0) if self._compress and data else data

    def _open(self) -> BinaryIO:
        if self._stream is not None:
            return self._stream
        if self._output == "-":
            stream = sys.stdout.buffer
        elif self._state_path is not None or not replaceable(self._output):
            # A resumable export appends where it stopped; a device or a pipe
            # (/dev/null, a FIFO) is written in place, never renamed over.
            stream = open(self._output, "wb")  # noqa: SIM115 - closed by close()
            self._owned = True
        else:
            # Opened with open(), not mkstemp, so its permissions follow the umask as
            # the output's would.
            self._target, temporary = temporary_beside(self._output)
            try:
                stream = open(temporary, "xb")  # noqa: SIM115 - closed by finish() or close()
            except OSError as exc:  # name the output, not the temporary file
                reason = (exc.strerror or type(exc).__name__).lower()
                raise CLIError(f"cannot write {self._output}: {reason}", EXIT_FAILURE) from None
            self._temporary = temporary
            self._owned = True
        self._stream = stream
        header = self._bytes(self._fmt.header())
        stream.write(header)
        self._offset = len(header)
        if self._state is not None:
            self._checkpoint(stream, attrs.evolve(self._state, output_bytes=self._offset))
        return stream

    def write(self, page: Page) -> None:
        stream = self._open()
        data = self._bytes(self._fmt.encode(page.customers))
        stream.write(data)
        self._offset += len(data)
        if self._state is not None:
            state = self._state.advanced(
                next_day=page.last_day + _ONE_DAY,
                output_bytes=self._offset,
                customers=len(page.customers),
            )
            self._checkpoint(stream, state)
        elif not self._owned:
            stream.flush()  # stdout: let a reader downstream see each page as it comes

    def finish(self) -> ResumeState | None:
        """Flush the output, put it in place and, with a state file, mark it complete."""
        stream = self._open()
        stream.flush()
        if self._temporary is not None:
            os.fsync(stream.fileno())
            stream.close()
            os.replace(self._temporary, self._target)
            self._temporary = None
        if self._state is not None:
            self._checkpoint(stream, attrs.evolve(self._state, complete=True))
        return self._state

    def close(self) -> None:
        """Close the output; a temporary file not put in place is removed."""
        if self._owned and self._stream is not None:
            self._stream.close()
        if self._temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._temporary)
            self._temporary = None


def _prepare(
    job: ExportJob, connection: Connection
) -> tuple[ResumeState | None, BinaryIO | None, bool]:
    """Load or start the resume state: (state, restored output or None, already complete)."""
    if job.resume is None:
        return None, None, False
    args = job.content_args(connection)
    current = fingerprint(args)
    try:
        state = load_state(job.resume)
    except StateError as exc:
        raise CLIError(str(exc)) from None
    if state is None:
        fresh = ResumeState(fingerprint=current, args=args, next_day=job.start, output_bytes=0)
        return fresh, None, False
    if state.fingerprint != current:
        raise CLIError(
            f"the resume state {job.resume} belongs to another export "
            f"({describe_mismatch(state.args, args)}); rerun with the same arguments, "
            "or use another state file"
        )
    if state.complete:
        _check_complete_output(job.output, state)
        return state, None, True
    try:
        return state, restore_output(job.output, state), False
    except StateError as exc:
        raise CLIError(str(exc)) from None


def _check_complete_output(path: str, state: ResumeState) -> None:
    """A complete export's output must still be there, as long as it was written."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = None
    if size != state.output_bytes:
        found = "missing" if size is None else f"{size:,} bytes long, not {state.output_bytes:,}"
        raise CLIError(
            f"the resume state says the export to {path} is complete, but {path} is "
            f"{found}; delete the state file to export again",
            EXIT_FAILURE,
        )


async def run_export(
    job: ExportJob,
    connection: Connection,
    *,
    show_progress: bool,
) -> ExportReport:
    """Export ``job``; checks, resume and output handling included. Returns the report."""
    began = time.monotonic()
    report = ExportReport(output=job.output)
    state, stream, complete = _prepare(job, connection)
    if complete:
        assert state is not None
        report.already_complete = True
        report.total_customers = state.customers
        return report
    writer = _PageWriter(job, export_format(job.format, job.fields), state=state, stream=stream)
    start, before = job.start, 0
    if stream is not None and state is not None:
        start, before = state.next_day, state.customers
        report.resumed_at = start
    try:
        if start <= job.end:  # else a killed run had written every page: just finish
            await _walk(
                job,
                connection,
                writer,
                report,
                start=start,
                customers_before=before,
                show_progress=show_progress,
            )
        final = writer.finish()
    finally:
        writer.close()
    if final is not None:
        report.total_customers = final.customers
    report.elapsed = time.monotonic() - began
    return report


async def _walk(
    job: ExportJob,
    connection: Connection,
    writer: _PageWriter,
    report: ExportReport,
    *,
    start: dt.date,
    customers_before: int,
    show_progress: bool,
) -> None:
    progress = Progress()
    bar_context: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    bar = None
    if show_progress:
        from ._progress import ProgressBar

        bar = ProgressBar(
            days_total=(job.end - job.start).days + 1,
            days_before=(start - job.start).days,
            customers_before=customers_before,
        )
        bar_context = bar
    try:
        async with open_client(connection, start=job.start, end=job.end) as client:
            pages = client.customers.pages(
                start_date=start,
                end_date=job.end,
                limit=job.limit,
                max_limit=job.max_limit,
                concurrency=job.concurrency,
                ordered=True,
                progress=progress,
            )
            with bar_context:
                follow = asyncio.create_task(bar.follow(progress)) if bar is not None else None
                try:
                    async with contextlib.aclosing(pages):
                        async for page in pages:
                            writer.write(page)
                            report.customers += len(page.customers)
                            report.pages += 1
                    if bar is not None:
                        bar.update(progress)
                finally:
                    if follow is not None:
                        follow.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await follow
    finally:
        report.requests = progress.requests
        report.retries = progress.retries
        report.windows_split = progress.windows_split
        report.limits_escalated = progress.limits_escalated
        report.server_cap = progress.server_cap
        report.unverified_days = progress.unverified_days


def summary_lines(report: ExportReport) -> list[str]:
    """The end-of-run summary, one message per line (without the program's prefix)."""
    where = "stdout" if report.output == "-" else report.output
    if report.already_complete:
        return [
            f"the export to {where} is already complete ({report.total_customers:,} "
            "customers); nothing to do. Delete the state file to export again"
        ]
    rate = report.customers / report.elapsed if report.elapsed > 0 else 0.0
    lines = [
        f"wrote {_count(report.customers, 'customer')} in {_count(report.pages, 'page')} "
        f"to {where} in {report.elapsed:.1f} s ({rate:,.0f} customers/s)",
        ", ".join(
            [
                _count(report.requests, "request"),
                _count(report.retries, "retry", "retries"),
                _count(report.windows_split, "window split", "windows split"),
                _count(report.limits_escalated, "limit raised", "limits raised"),
            ]
        ),
    ]
    if report.resumed_at is not None:
        lines.append(
            f"resumed at {report.resumed_at.isoformat()}; the output holds "
            f"{report.total_customers or 0:,} customers in all"
        )
    if report.server_cap is not None:
        lines.append(
            f"warning: the server returns at most {report.server_cap:,} customers per "
            "request whatever the limit; the export adapted to it"
        )
    if report.unverified_days:
        days = sorted(report.unverified_days)
        shown = ", ".join(f"{d.isoformat()} ({report.unverified_days[d]})" for d in days[:5])
        more = f" and {len(days) - 5} more" if len(days) > 5 else ""
        lines.append(
            f"warning: {_count(len(days), 'single day')} returned as many customers as any request "
            f"and could not be verified complete: {shown}{more}"
        )
    if report.customers == 0 and report.resumed_at is None:
        lines.append("warning: no customers were created in this range")
    return lines


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"
