"""The export's live progress bar (rich, on stderr), fed by polling a `Progress`."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress

from .. import Progress

__all__ = ["ProgressBar"]

#: Seconds between two reads of the SDK's counters.
POLL_INTERVAL = 0.1


class ProgressBar:
    """Days covered of the whole range, customers, requests, retries and customers/s.

    ``days_before`` and ``customers_before`` are what earlier (resumed) runs covered, so
    the bar shows the whole export, not only this run's share of it.
    """

    def __init__(self, *, days_total: int, days_before: int = 0, customers_before: int = 0):
        self._days_before = days_before
        self._customers_before = customers_before
        self._started = time.monotonic()
        self._bar = RichProgress(
            SpinnerColumn(),
            TextColumn("[bold]exporting"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} days"),
            TextColumn("{task.fields[customers]:,} customers"),
            TextColumn("{task.fields[requests]:,} requests"),
            TextColumn("{task.fields[retries]:,} retries"),
            TextColumn("{task.fields[rate]:,.0f}/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            # The export writes stdout's bytes itself, so rich must leave stdout alone;
            # stderr lines (the SDK's retry warnings) are printed above the bar.
            redirect_stdout=False,
            redirect_stderr=True,
        )
        self._task: TaskID = self._bar.add_task(
            "export",
            total=days_total,
            completed=days_before,
            customers=customers_before,
            requests=0,
            retries=0,
            rate=0.0,
        )

    def __enter__(self) -> ProgressBar:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def update(self, progress: Progress) -> None:
        """Copy the SDK's counters to the bar."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._bar.update(
            self._task,
            completed=self._days_before + progress.days_done,
            customers=self._customers_before + progress.customers,
            requests=progress.requests,
            retries=progress.retries,
            rate=progress.customers / elapsed,
        )

    async def follow(self, progress: Progress) -> None:
        """Update the bar until cancelled: requests and retries move between pages too."""
        while True:
            self.update(progress)
            await asyncio.sleep(POLL_INTERVAL)
