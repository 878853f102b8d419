"""End to end: every customer of a range, from a sandbox in another process.

The SDK runs ``client.customers.iterate(start, end, limit=500, concurrency=8)`` with its
own window planning. The peers fetch fixed windows packed from the sandbox's ground
truth so that each holds fewer than 500 customers, with 8 requests in flight. A fifth
path, the SDK's ``customers.list`` over the peers' windows, separates the cost of the
SDK's request and decode path from that of its window planning.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Any

from . import _peers
from ._harness import (
    Outcome,
    Sample,
    fmt_ratio,
    interleave,
    median,
    per_round_ratio,
    progress,
    render_table,
)
from ._sandbox import SandboxSpec, day_counts, ideal_requests, packed_windows, sandbox_process

__all__ = ["E2EResult", "e2e_spec", "run_e2e"]

LIMIT = 500
CONCURRENCY = 8
#: Customers per day: 100,000 over the two years 2022-2023.
DENSITY = 137
END = dt.date(2023, 12, 31)

SDK = "sdk iterate (own windows)"
SDK_LIST = "sdk customers.list (fixed windows)"
ORJSON = "aiohttp + orjson (dicts)"
MSGSPEC = "aiohttp + msgspec (typed)"
PYDANTIC = "httpx + pydantic v2"

#: (peer, goal for t_peer / t_sdk, the goal's wording)
GOALS: list[tuple[str, float | None, str]] = [
    (ORJSON, 0.9, "SDK >= 0.9x aiohttp + orjson"),
    (PYDANTIC, 3.0, "SDK >= 3x httpx + pydantic v2"),
    (MSGSPEC, None, "SDK vs aiohttp + msgspec (ceiling)"),
    (SDK_LIST, None, "iterate vs list over fixed windows"),
]
#: Client CPU seconds of the SDK at most this multiple of the dict loop's.
CPU_GOAL = 1.2


def e2e_spec(customers: int) -> SandboxSpec:
    """A uniform data set of ``customers`` at `DENSITY` a day, ending on `END`."""
    days = max(1, round(customers / DENSITY))
    return SandboxSpec(customers=customers, start=END - dt.timedelta(days=days - 1), end=END)


@dataclasses.dataclass
class E2EResult:
    """Samples per path, and what the report needs besides."""

    spec: SandboxSpec
    windows: int
    samples: dict[str, list[Sample]]
    skipped: list[str]

    def report(self) -> str:
        """The tables of medians and ratios."""
        sdk = self.samples[SDK]
        sdk_median = median([s.wall for s in sdk])
        rows = []
        for name, samples in self.samples.items():
            walls = [s.wall for s in samples]
            servers = [s.server_cpu for s in samples if s.server_cpu is not None]
            requests = sorted({s.outcome.requests for s in samples if s.outcome.requests})
            rows.append(
                [
                    name,
                    f"{median(walls):.3f}",
                    f"{min(walls):.3f}",
                    f"{self.spec.customers / median(walls):,.0f}",
                    f"{median([s.cpu for s in samples]):.2f}",
                    f"{median([s.collector for s in samples]):.2f}",
                    f"{median(servers):.2f}" if servers else "n/a",
                    "/".join(map(str, requests)),
                    fmt_ratio(median(walls) / sdk_median),
                ]
            )
        headers = [
            "path",
            "median s",
            "min s",
            "customers/s",
            "client CPU s",
            "of it GC s",
            "server CPU s",
            "requests",
            "t / t(SDK)",
        ]
        goal_rows = []
        for peer, goal, wording in GOALS:
            if peer not in self.samples:
                continue
            peer_walls = [s.wall for s in self.samples[peer]]
            of_medians = median(peer_walls) / sdk_median
            per_round = per_round_ratio(self.samples[peer], sdk)
            of_minimums = min(peer_walls) / min(s.wall for s in sdk)
            verdict = "-" if goal is None else ("met" if of_medians >= goal else "MISSED")
            goal_rows.append(
                [
                    wording,
                    fmt_ratio(of_medians),
                    fmt_ratio(per_round),
                    fmt_ratio(of_minimums),
                    "-" if goal is None else f">= {goal}x",
                    verdict,
                ]
            )
        parts = [
            f"Data: {self.spec.describe()}; limit {LIMIT}, concurrency {CONCURRENCY}; "
            f"{len(sdk)} interleaved rounds.",
            f"Requests: ideal ceil(customers / {LIMIT}) = "
            f"{ideal_requests(self.spec.customers, LIMIT)}; the peers' packed windows = "
            f"{self.windows}.",
            "",
            render_table(headers, rows),
            "",
            "SDK speed relative to each path (t(path) / t(SDK); above 1 the SDK is faster). The"
            " verdict reads the ratio of medians; load on a shared machine only ever slows a"
            " sample, so the ratio of minimums is the least disturbed view:",
            "",
            render_table(
                [
                    "comparison",
                    "ratio of medians",
                    "median of per-round ratios",
                    "ratio of minimums",
                    "goal",
                    "",
                ],
                goal_rows,
            ),
        ]
        if ORJSON in self.samples:
            sdk_cpu = median([s.cpu for s in sdk])
            loop_cpu = median([s.cpu for s in self.samples[ORJSON]])
            per_100k = 100_000 / self.spec.customers
            paired = median(
                [a.cpu / b.cpu for a, b in zip(sdk, self.samples[ORJSON], strict=False) if b.cpu]
            )
            verdict = "met" if sdk_cpu / loop_cpu <= CPU_GOAL else "MISSED"
            parts += [
                "",
                f"Client CPU per 100,000 customers: SDK {sdk_cpu * per_100k:.2f} s, "
                f"aiohttp + orjson {loop_cpu * per_100k:.2f} s: {fmt_ratio(sdk_cpu / loop_cpu)} "
                f"(median of per-round ratios {fmt_ratio(paired)}); goal <= {CPU_GOAL}x, "
                f"{verdict}.",
            ]
        if self.skipped:
            parts += ["", "Skipped (library not installed): " + ", ".join(self.skipped)]
        return "\n".join(parts)


def run_e2e(customers: int, rounds: int) -> E2EResult:
    """Start the sandbox, plan the peers' windows, run every path ``rounds`` times."""
    spec = e2e_spec(customers)
    progress(f"e2e: {spec.describe()}")
    windows = packed_windows(day_counts(spec), spec.start, spec.end, LIMIT)
    skipped: list[str] = []
    with sandbox_process(spec) as target:

        def runner(make: Callable[[], Coroutine[Any, Any, Outcome]]) -> Callable[[], Outcome]:
            return lambda: asyncio.run(make())

        paths = {
            SDK: runner(
                lambda: _peers.sdk_iterate(
                    target, spec.start, spec.end, limit=LIMIT, concurrency=CONCURRENCY
                )
            ),
            SDK_LIST: runner(
                lambda: _peers.sdk_list_windows(
                    target, windows, limit=LIMIT, concurrency=CONCURRENCY
                )
            ),
            ORJSON: runner(
                lambda: _peers.aiohttp_orjson(target, windows, limit=LIMIT, concurrency=CONCURRENCY)
            ),
        }
        if _peers.peer_available("msgspec"):
            paths[MSGSPEC] = runner(
                lambda: _peers.aiohttp_msgspec(
                    target, windows, limit=LIMIT, concurrency=CONCURRENCY
                )
            )
        else:
            skipped.append(MSGSPEC)
        if _peers.peer_available("httpx") and _peers.peer_available("pydantic"):
            paths[PYDANTIC] = runner(
                lambda: _peers.httpx_pydantic(target, windows, limit=LIMIT, concurrency=CONCURRENCY)
            )
        else:
            skipped.append(PYDANTIC)
        samples = interleave(
            paths, rounds=rounds, expect=spec.customers, server_pid=target.pid, log=progress
        )
    return E2EResult(spec, len(windows), samples, skipped)
