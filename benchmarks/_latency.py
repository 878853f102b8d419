"""Latency-bound: the server adds 50 ms to every response; pages are small (limit 50).

The data set is 200 days of about 25 customers a day, uniform: the SDK's planner sizes
windows of one day (a window is sized to fit the limit with two standard deviations of
headroom: ``plan_days(25, 50) == 1``), so its walk makes about 200 list requests. The
ideal time for ``n`` requests at concurrency ``c`` is ``ceil(n / c) x 50 ms``.

Measured for each concurrency (8, and 32 with ``max_connections=32``):

- the SDK's ``iterate`` with its own planning (its first window is 7 days, which is full
  at limit 50 and is split once; while nothing is known one window is in flight);
- the raw request path: ``client.customers.list`` over the 200 one-day windows, with
  ``c`` workers, which is what the SDK adds to a request, without the planning;
- aiohttp + orjson over the same windows, for reference.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
from collections.abc import Callable

from . import _peers
from ._harness import Outcome, Sample, fmt_ratio, interleave, median, progress, render_table
from ._sandbox import SandboxSpec, day_counts, fixed_windows, sandbox_process

__all__ = ["LatencyResult", "latency_spec", "run_latency"]

LATENCY = 0.05
LIMIT = 50
DAYS = 200
PER_DAY = 25
#: (concurrency, max_connections, goal as a multiple of the ideal)
CASES: list[tuple[int, int | None, float]] = [(8, None, 1.15), (32, 32, 1.5)]


def latency_spec(days: int = DAYS) -> SandboxSpec:
    """``days`` days of `PER_DAY` customers a day on average, with `LATENCY` added."""
    start = dt.date(2024, 1, 1)
    return SandboxSpec(
        customers=days * PER_DAY,
        start=start,
        end=start + dt.timedelta(days=days - 1),
        latency=LATENCY,
    )


def ideal(requests: int, concurrency: int) -> float:
    """``ceil(requests / concurrency)`` round trips of `LATENCY`."""
    return math.ceil(requests / concurrency) * LATENCY


@dataclasses.dataclass
class LatencyResult:
    """Samples per path."""

    spec: SandboxSpec
    busiest_day: int
    windows: int
    samples: dict[str, list[Sample]]

    def report(self) -> str:
        """One row per path: median time, its ratio to the ideal, requests."""
        rows = []
        for name, samples in self.samples.items():
            concurrency = int(name.rsplit("c=", 1)[1].split()[0])
            walls = [s.wall for s in samples]
            requests = sorted({s.outcome.requests or 0 for s in samples})
            goal = {c: g for c, _, g in CASES}[concurrency]
            at_windows = ideal(self.windows, concurrency)
            own = [ideal(s.outcome.requests or self.windows, concurrency) for s in samples]
            of_ideal = median(walls) / at_windows
            verdict = "met" if of_ideal <= goal else "MISSED"
            rows.append(
                [
                    name,
                    f"{median(walls):.3f}",
                    f"{min(walls):.3f}",
                    "/".join(map(str, requests)),
                    f"{at_windows:.2f}",
                    fmt_ratio(of_ideal),
                    fmt_ratio(min(walls) / at_windows),
                    fmt_ratio(median([w / i for w, i in zip(walls, own, strict=True)])),
                    f"<= {goal}x",
                    verdict,
                ]
            )
        headers = [
            "path",
            "median s",
            "min s",
            "requests",
            f"ideal s ({self.windows} req)",
            "median / ideal",
            "min / ideal",
            "median / ideal of own requests",
            "goal",
            "",
        ]
        rounds = len(next(iter(self.samples.values())))
        return "\n".join(
            [
                f"Data: {self.spec.describe()}; limit {LIMIT}; busiest day {self.busiest_day} "
                f"customers; {self.windows} one-day windows; {rounds} interleaved rounds.",
                f"Ideal: ceil(requests / concurrency) x {LATENCY * 1000:g} ms.",
                "",
                render_table(headers, rows),
            ]
        )


def run_latency(rounds: int, days: int = DAYS) -> LatencyResult:
    """Start the sandbox with latency; run every path at each concurrency, interleaved."""
    spec = latency_spec(days)
    progress(f"latency: {spec.describe()}")
    counts = day_counts(spec)
    busiest = max(counts.values())
    if busiest >= LIMIT:
        progress(f"  note: the busiest day holds {busiest} >= {LIMIT}; the walk will escalate")
    windows = fixed_windows(spec.start, spec.end, 1)
    with sandbox_process(spec) as target:

        def sdk(concurrency: int, connections: int | None) -> Callable[[], Outcome]:
            return lambda: asyncio.run(
                _peers.sdk_iterate(
                    target,
                    spec.start,
                    spec.end,
                    limit=LIMIT,
                    concurrency=concurrency,
                    max_connections=connections,
                )
            )

        def sdk_list(concurrency: int, connections: int | None) -> Callable[[], Outcome]:
            return lambda: asyncio.run(
                _peers.sdk_list_windows(
                    target,
                    windows,
                    limit=LIMIT,
                    concurrency=concurrency,
                    max_connections=connections,
                )
            )

        def raw(concurrency: int) -> Callable[[], Outcome]:
            return lambda: asyncio.run(
                _peers.aiohttp_orjson(target, windows, limit=LIMIT, concurrency=concurrency)
            )

        paths: dict[str, Callable[[], Outcome]] = {}
        for concurrency, connections, _goal in CASES:
            suffix = f"c={concurrency}" + (f" max_connections={connections}" if connections else "")
            paths[f"sdk iterate {suffix}"] = sdk(concurrency, connections)
            paths[f"sdk customers.list x{len(windows)} {suffix}"] = sdk_list(
                concurrency, connections
            )
            paths[f"aiohttp + orjson x{len(windows)} c={concurrency}"] = raw(concurrency)
        samples = interleave(paths, rounds=rounds, expect=spec.customers, log=progress)
    return LatencyResult(spec, busiest, len(windows), samples)
