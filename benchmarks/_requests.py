"""Requests: how many list requests a complete walk makes, against the ideal and a naive walk.

The ideal is ``ceil(customers / limit)``: every page full, which no walk without a cursor
can promise. The baselines are naive walkers over fixed windows of 7 and 30 days that
split a full page in halves (keeping ``limit``) and ask a full single day again at
``max_limit`` (1000), as the SDK does.

The bursty data set gives about 2% of the days (the grand opening, each 4/20, others at
random) `BURST_FACTOR` (8) times a usual day's sign-ups, about 14% of all customers. A
burst day must stay below ``max_limit`` or any lossless walk rightly fails
(`WindowOverflowError`): for 50,000 customers the span is three years, 2022-01-01 to
2024-12-31 (1,096 days; the busiest day holds 350, under the limit of 500, so no single
day is split here: the walk's tests cover that). The SDK's count can vary a little
between runs (its window sizing reads completions as they come), so each walk runs a
few times.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable

from . import _peers
from ._harness import Outcome, Sample, fmt_ratio, interleave, median, progress, render_table
from ._sandbox import (
    SandboxSpec,
    Target,
    Window,
    day_counts,
    fixed_windows,
    ideal_requests,
    sandbox_process,
)

__all__ = ["RequestsResult", "requests_spec", "run_requests"]

LIMIT = 500
MAX_LIMIT = 1000
CONCURRENCY = 8
GOAL = 1.6
NAIVE_DAYS = (7, 30)


def requests_spec(customers: int, distribution: str = "bursty") -> SandboxSpec:
    """``customers`` over 2022-2024 (at 50,000 the bursts stay below `MAX_LIMIT`)."""
    return SandboxSpec(
        customers=customers,
        start=dt.date(2022, 1, 1),
        end=dt.date(2024, 12, 31),
        distribution=distribution,
    )


@dataclasses.dataclass
class DataSetResult:
    """One data set: its shape and each walk's samples."""

    spec: SandboxSpec
    busiest_day: int
    days_over_limit: int
    samples: dict[str, list[Sample]]


@dataclasses.dataclass
class RequestsResult:
    """Every data set measured."""

    sets: list[DataSetResult]

    def report(self) -> str:
        """One table per data set: requests per walk, against the ideal and the goal."""
        parts = []
        for data in self.sets:
            ideal = ideal_requests(data.spec.customers, LIMIT)
            rows = []
            for name, samples in data.samples.items():
                counts = [s.outcome.requests or 0 for s in samples]
                low, high = min(counts), max(counts)
                of_ideal = high / ideal
                is_sdk = name.startswith("sdk")
                verdict = ("met" if of_ideal <= GOAL else "MISSED") if is_sdk else "-"
                rows.append(
                    [
                        name,
                        f"{low}" if low == high else f"{low}-{high}",
                        fmt_ratio(of_ideal),
                        f"{median([s.wall for s in samples]):.2f}",
                        f"<= {GOAL}x" if is_sdk else "-",
                        verdict,
                    ]
                )
            parts += [
                f"Data: {data.spec.describe()}; busiest day {data.busiest_day} customers, "
                f"{data.days_over_limit} days over limit {LIMIT}; limit {LIMIT}, max_limit "
                f"{MAX_LIMIT}, concurrency {CONCURRENCY}. Ideal ceil({data.spec.customers} / "
                f"{LIMIT}) = {ideal}.",
                "",
                render_table(
                    ["walk", "list requests", "worst / ideal", "median s", "goal", ""], rows
                ),
                "",
            ]
        return "\n".join(parts).rstrip()


def run_requests(customers: int, rounds: int, distributions: list[str]) -> RequestsResult:
    """For each distribution: the SDK's walk and the naive walks, ``rounds`` times each."""
    sets = []
    for distribution in distributions:
        spec = requests_spec(customers, distribution)
        progress(f"requests: {spec.describe()}")
        counts = day_counts(spec)
        busiest = max(counts.values())
        if busiest >= MAX_LIMIT:
            raise RuntimeError(
                f"a day holds {busiest} >= max_limit {MAX_LIMIT}: widen the span for "
                f"{customers} customers"
            )
        over = sum(1 for n in counts.values() if n >= LIMIT)
        with sandbox_process(spec) as target:
            paths = _walks(target, spec)
            samples = interleave(
                paths, rounds=rounds, warmup=False, expect=spec.customers, log=progress
            )
        sets.append(DataSetResult(spec, busiest, over, samples))
    return RequestsResult(sets)


def _walks(target: Target, spec: SandboxSpec) -> dict[str, Callable[[], Outcome]]:
    """The SDK's walk and the naive walks over ``spec``'s range, as runners."""

    def sdk() -> Outcome:
        return asyncio.run(
            _peers.sdk_iterate(target, spec.start, spec.end, limit=LIMIT, concurrency=CONCURRENCY)
        )

    def naive(windows: list[Window]) -> Callable[[], Outcome]:
        return lambda: asyncio.run(
            _peers.naive_walk(
                target, windows, limit=LIMIT, max_limit=MAX_LIMIT, concurrency=CONCURRENCY
            )
        )

    paths: dict[str, Callable[[], Outcome]] = {"sdk iterate": sdk}
    for days in NAIVE_DAYS:
        paths[f"naive fixed {days}-day windows"] = naive(fixed_windows(spec.start, spec.end, days))
    return paths
