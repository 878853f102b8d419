"""The sandbox in a separate process, its ground truth, and fixed windows planned from it.

The sandbox's data is deterministic from its settings (string seeds go through SHA-512),
so the benchmark process regenerates the same customers to know, without asking the
server, how many each day holds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator

from indica_async.sandbox import SandboxConfig, generate_customers

__all__ = [
    "DayCounts",
    "SandboxSpec",
    "Target",
    "Window",
    "day_counts",
    "fixed_windows",
    "ideal_requests",
    "packed_windows",
    "sandbox_process",
]

Window = tuple[dt.date, dt.date]

#: Seconds to wait for the sandbox to print its address (a million customers take ~20 s).
_START_TIMEOUT = 300.0


@dataclasses.dataclass(frozen=True)
class SandboxSpec:
    """What the sandbox serves: the options of ``python -m indica_async.sandbox``."""

    customers: int
    start: dt.date
    end: dt.date
    distribution: str = "uniform"
    seed: int = 0
    latency: float = 0.0

    @property
    def days(self) -> int:
        """Days in the range."""
        return (self.end - self.start).days + 1

    def argv(self) -> list[str]:
        """The sandbox's command line."""
        argv = [
            sys.executable,
            "-m",
            "indica_async.sandbox",
            "--port",
            "0",
            "--customers",
            str(self.customers),
            "--start-date",
            self.start.isoformat(),
            "--end-date",
            self.end.isoformat(),
            "--distribution",
            self.distribution,
            "--seed",
            str(self.seed),
        ]
        if self.latency:
            argv += ["--latency", repr(self.latency)]
        return argv

    def describe(self) -> str:
        """One line for the report."""
        extra = f", {self.latency * 1000:g} ms latency" if self.latency else ""
        return (
            f"{self.customers:,} customers, {self.distribution}, {self.start} to {self.end} "
            f"({self.days} days, seed {self.seed}{extra})"
        )


@dataclasses.dataclass(frozen=True)
class Target:
    """A running sandbox: where it listens, the key it accepts, its process id."""

    base_url: str
    api_key: str
    pid: int


@contextlib.contextmanager
def sandbox_process(spec: SandboxSpec) -> Iterator[Target]:
    """Start the sandbox in its own process; stop it (SIGINT, then SIGKILL) on exit."""
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            spec.argv(),
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            values: dict[str, str] = {}
            for _ in range(2):
                line = proc.stdout.readline()
                if not line:
                    errors.seek(0)
                    raise RuntimeError(f"the sandbox did not start: {errors.read()[-2000:]}")
                key, _, value = line.strip().partition("=")
                values[key] = value
            yield Target(values["INDICA_BASE_URL"], values["INDICA_API_KEY"], proc.pid)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


#: Customers created on each day (as a date ordinal); days without any are absent.
DayCounts = Counter[int]


def day_counts(spec: SandboxSpec) -> DayCounts:
    """The sandbox's ground truth, reduced to how many customers each day holds."""
    records = generate_customers(
        SandboxConfig(
            seed=spec.seed,
            customers=spec.customers,
            start_date=spec.start,
            end_date=spec.end,
            distribution=spec.distribution,  # type: ignore[arg-type]  # checked by attrs
        )
    )
    counts: DayCounts = Counter()
    for ordinal in range(spec.start.toordinal(), spec.end.toordinal() + 1):
        day = dt.date.fromordinal(ordinal)
        lo, hi = records.created_range(day, day)
        if hi > lo:
            counts[ordinal] = hi - lo
    return counts


def packed_windows(counts: DayCounts, start: dt.date, end: dt.date, limit: int) -> list[Window]:
    """Consecutive windows covering the range, each as long as it can be while holding
    fewer than ``limit`` customers (so no response is full and none needs a split).

    Raises if a single day holds ``limit`` or more.
    """
    windows: list[Window] = []
    first = start.toordinal()
    held = 0
    for day in range(start.toordinal(), end.toordinal() + 1):
        count = counts.get(day, 0)
        if count >= limit:
            raise ValueError(f"{dt.date.fromordinal(day)} alone holds {count} >= {limit}")
        if held + count >= limit:
            windows.append((dt.date.fromordinal(first), dt.date.fromordinal(day - 1)))
            first, held = day, 0
        held += count
    windows.append((dt.date.fromordinal(first), end))
    return windows


def fixed_windows(start: dt.date, end: dt.date, days: int) -> list[Window]:
    """Windows of ``days`` days (the last may be shorter) covering the range."""
    windows: list[Window] = []
    first = start
    step = dt.timedelta(days=days - 1)
    while first <= end:
        last = min(end, first + step)
        windows.append((first, last))
        first = last + dt.timedelta(days=1)
    return windows


def ideal_requests(customers: int, limit: int) -> int:
    """The fewest list requests that can return ``customers`` at ``limit`` per page."""
    return max(1, math.ceil(customers / limit))
