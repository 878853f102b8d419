"""Interleaved timing, medians, ratios and plain-text tables.

Every benchmark runs its paths in turn, round after round (A B C D A B C D ...), so that a
burst of load on a shared machine slows one sample of each path rather than every sample
of one path. Each sample is a fresh event loop (``asyncio.run``) and starts after a full
garbage collection, so one path's garbage is not charged to the next.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "Outcome",
    "Sample",
    "cpu_seconds",
    "fmt_ratio",
    "interleave",
    "median",
    "per_round_ratio",
    "progress",
    "render_table",
]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one run of a path did: customers seen and requests made (if known)."""

    customers: int
    requests: int | None = None


@dataclasses.dataclass(frozen=True)
class Sample:
    """One timed run: wall and CPU seconds of this process (and of the server, if it
    was watched), and its outcome."""

    wall: float
    cpu: float
    outcome: Outcome
    server_cpu: float | None = None
    #: Seconds this process spent in the cyclic garbage collector during the sample.
    collector: float = 0.0


Runner = Callable[[], Outcome]


def interleave(
    paths: Mapping[str, Runner],
    *,
    rounds: int,
    warmup: bool = True,
    expect: int | None = None,
    server_pid: int | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, list[Sample]]:
    """Run every path once per round, in order; return each path's samples.

    With ``warmup`` each path runs once first, untimed (imports, caches, schemas). With
    ``expect``, a run that does not see exactly that many customers is an error: a fast
    wrong answer must not pass for a result. With ``server_pid``, the CPU seconds that
    process spent during each sample are recorded too.
    """
    if warmup:
        for name, run in paths.items():
            _check(name, run(), expect)
    samples: dict[str, list[Sample]] = {name: [] for name in paths}
    for index in range(rounds):
        for name, run in paths.items():
            gc.collect()
            server0 = None if server_pid is None else cpu_seconds(server_pid)
            with _CollectorTime() as collector:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                outcome = run()
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            server1 = None if server_pid is None else cpu_seconds(server_pid)
            server = None if server0 is None or server1 is None else server1 - server0
            _check(name, outcome, expect)
            samples[name].append(Sample(wall, cpu, outcome, server, collector.seconds))
            if log is not None:
                log(f"  round {index + 1}/{rounds} {name}: {wall:.3f} s")
    return samples


class _CollectorTime:
    """Sums the time of the collections that run inside the block (``gc.callbacks``).

    A benchmark's own measuring hook, removed on exit; the SDK never touches the
    collector.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> _CollectorTime:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def _check(name: str, outcome: Outcome, expect: int | None) -> None:
    if expect is not None and outcome.customers != expect:
        raise RuntimeError(f"{name} saw {outcome.customers} customers, expected {expect}")


def median(values: Sequence[float]) -> float:
    """The median (of at least one value)."""
    return statistics.median(values)


def per_round_ratio(numerator: Sequence[Sample], denominator: Sequence[Sample]) -> float:
    """The median over rounds of ``numerator.wall / denominator.wall`` within each round.

    Samples of one round ran seconds apart, so this ratio is less exposed to the
    machine's load drifting over the run than the ratio of the two medians.
    """
    return median([a.wall / b.wall for a, b in zip(numerator, denominator, strict=True)])


def fmt_ratio(value: float) -> str:
    """``1.23x``."""
    return f"{value:.2f}x"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown pipe table, columns padded so it also reads well as plain text."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def progress(message: str) -> None:
    """Progress notes go to stderr, so stdout holds only the results."""
    print(message, file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of a process, from /proc (None where unavailable)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command's closing parenthesis, the state is field 0, utime 11, stime 12.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
