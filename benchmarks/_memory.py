"""Memory: the command-line JSONL export of N customers, its peak resident memory.

The sandbox runs in its own process; the export runs as another child,
``python -m indica_async customers export ... --quiet --base-url URL`` with the key in
``INDICA_API_KEY``. Its peak RSS is the kernel's high-water mark of that one process
(``VmHWM`` in /proc), so neither the sandbox nor this process is counted. With psutil,
its RSS is also sampled every 20 ms, to show whether it grows over the run.

Both sizes hold the same customers per day (137, about 274 pages of 500 per 1,000 days),
so pages look alike and only the length of the range differs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from ._harness import fmt_ratio, progress, render_table
from ._sandbox import SandboxSpec, Target, sandbox_process

__all__ = ["MemoryResult", "cli_available", "memory_spec", "run_memory"]

DENSITY = 137
END = dt.date(2024, 12, 31)
GOAL = 1.2


def memory_spec(customers: int) -> SandboxSpec:
    """``customers`` at `DENSITY` a day, ending on `END`."""
    days = max(1, round(customers / DENSITY))
    return SandboxSpec(customers=customers, start=END - dt.timedelta(days=days - 1), end=END)


def cli_available() -> bool:
    """Whether ``python -m indica_async`` can run the export (the CLI and its extra)."""
    return all(importlib.util.find_spec(m) is not None for m in ("indica_async.cli", "click"))


@dataclasses.dataclass(frozen=True)
class Run:
    """One export: its size, peak RSS (MiB), RSS samples over time, seconds, lines."""

    customers: int
    peak_mib: float
    #: (fraction of the run's time, RSS in MiB), when psutil is installed.
    curve: tuple[tuple[float, float], ...]
    seconds: float
    lines: int


@dataclasses.dataclass
class MemoryResult:
    """The runs, largest last, and the tool that exported."""

    tool: str
    baseline_mib: float
    runs: list[Run]

    def report(self) -> str:
        """Peak RSS per size, the ratio of the largest to the smallest, the curve."""
        smallest = self.runs[0]
        rows = []
        for run in self.runs:
            curve = {round(f, 1): mib for f, mib in run.curve}
            at = [curve.get(point) for point in (0.2, 0.5, 0.8)]
            rows.append(
                [
                    f"{run.customers:,}",
                    f"{run.seconds:.1f}",
                    f"{run.customers / run.seconds:,.0f}",
                    f"{run.peak_mib:.1f}",
                    " / ".join("n/a" if v is None else f"{v:.1f}" for v in at),
                    fmt_ratio(run.peak_mib / smallest.peak_mib),
                ]
            )
        largest = self.runs[-1]
        ratio = largest.peak_mib / smallest.peak_mib
        verdict = "met" if ratio <= GOAL else "MISSED"
        return "\n".join(
            [
                f"Tool: {self.tool}. Same density ({DENSITY} customers a day) at every size; "
                "the sandbox in its own process.",
                f"Baseline: the same interpreter running `python -m indica_async --version` "
                f"peaks at {self.baseline_mib:.1f} MiB.",
                "",
                render_table(
                    [
                        "customers",
                        "seconds",
                        "customers/s",
                        "peak RSS MiB",
                        "RSS at 20% / 50% / 80% of the run",
                        "peak / smallest",
                    ],
                    rows,
                ),
                "",
                f"Goal: {largest.customers:,} peaks at <= {GOAL}x {smallest.customers:,}: "
                f"{fmt_ratio(ratio)}, {verdict}.",
            ]
        )


def _high_water_mib(pid: int) -> float | None:
    """``VmHWM`` of a live process (its peak RSS so far), from /proc; None if gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _watch(argv: list[str], env: dict[str, str]) -> tuple[float, tuple[tuple[float, float], ...]]:
    """Run ``argv``; return its peak RSS in MiB and its RSS samples over time.

    The peak is the kernel's high-water mark of the process's own memory (``VmHWM``),
    read every 20 ms until it exits. Not ``ru_maxrss`` from ``wait4``: for a child
    started by (v)fork and exec, Linux folds the parent's peak at the time of the exec
    into it, so it would report this process's memory, not the export's.
    """
    psutil: Any = None
    with contextlib.suppress(ImportError):
        psutil = importlib.import_module("psutil")
    started = time.perf_counter()
    peak = 0.0
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors
        )
        watched = psutil.Process(proc.pid) if psutil is not None else None
        while proc.poll() is None:
            high = _high_water_mib(proc.pid)
            if high is not None:
                peak = max(peak, high)
            if watched is not None:
                try:
                    rss = watched.memory_info().rss / 2**20
                except psutil.Error:
                    pass
                else:
                    samples.append((time.perf_counter() - started, rss))
                    peak = max(peak, rss)
            time.sleep(0.02)
        if proc.returncode:
            errors.seek(0)
            text = errors.read().decode(errors="replace")
            raise RuntimeError(f"{argv[2:5]} failed ({proc.returncode}): {text[-2000:]}")
    elapsed = time.perf_counter() - started
    if not peak:
        raise RuntimeError("could not read the export's memory (needs /proc or psutil)")
    return peak, tuple((t / elapsed, rss) for t, rss in samples)


def _export_argv(tool: str, spec: SandboxSpec, target: Target, output: str) -> list[str]:
    dates = ["--start-date", spec.start.isoformat(), "--end-date", spec.end.isoformat()]
    if tool == "cli":
        return [
            sys.executable,
            "-m",
            "indica_async",
            "customers",
            "export",
            *dates,
            "--output",
            output,
            "--quiet",
            "--base-url",
            target.base_url,
        ]
    return [
        sys.executable,
        "-m",
        "benchmarks._export_loop",
        *dates,
        "--output",
        output,
        "--base-url",
        target.base_url,
    ]


def _count_lines(path: str) -> int:
    lines = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def run_memory(sizes: list[int], tool: str | None = None) -> MemoryResult:
    """Export each size once (smallest first) and record its peak RSS."""
    tool = tool or ("cli" if cli_available() else "sdk")
    label = (
        "`indica-async customers export` (python -m indica_async), JSONL"
        if tool == "cli"
        else "SDK export loop (benchmarks/_export_loop.py: pages() + customer_to_dict)"
    )
    baseline, _ = _watch([sys.executable, "-m", "indica_async", "--version"], dict(os.environ))
    runs = []
    with tempfile.TemporaryDirectory(prefix="indica-bench-") as scratch:
        for size in sorted(sizes):
            spec = memory_spec(size)
            progress(f"memory: {spec.describe()} via {tool}")
            with sandbox_process(spec) as target:
                output = os.path.join(scratch, f"customers-{size}.jsonl")
                env = dict(os.environ, INDICA_API_KEY=target.api_key)
                env.pop("INDICA_BASE_URL", None)
                started = time.perf_counter()
                peak, curve = _watch(_export_argv(tool, spec, target, output), env)
                seconds = time.perf_counter() - started
            lines = _count_lines(output)
            os.remove(output)
            if lines != size:
                raise RuntimeError(f"the export of {size} customers wrote {lines} lines")
            progress(f"  peak RSS {peak:.1f} MiB in {seconds:.1f} s")
            runs.append(Run(size, peak, curve, seconds, lines))
    return MemoryResult(label, baseline, runs)
