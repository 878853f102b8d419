"""``python -m benchmarks.run``: the SDK against its peers; figures on stdout.

Benchmarks (``--only`` picks some, comma-separated; all but ``profile`` by default):

- ``e2e``: ``iterate`` over a sandbox in another process, against aiohttp + orjson,
  aiohttp + msgspec and httpx + pydantic v2 over fixed windows, 8 requests in flight.
- ``decode``: one page of 500 customers: the SDK's decode from bytes against orjson.loads.
- ``latency``: 50 ms added per response, limit 50, ~200 requests at concurrency 8 and 32.
- ``memory``: peak RSS of the command-line JSONL export of 100,000 and 1,000,000.
- ``requests``: list requests of a complete walk on a bursty data set, against the ideal
  and naive fixed-window walks.
- ``profile``: where the SDK's time goes on the e2e path (cProfile).

Paths run interleaved (A B C D A B C D ...) after one untimed warm-up each; the tables
give medians, and ratios both of the medians and as the median of per-round ratios.
``--quick`` is a smoke run of every benchmark at small sizes (about a minute). Progress
goes to stderr; stdout holds the report (Markdown).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.metadata
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from ._decode import run_decode
from ._e2e import run_e2e
from ._harness import progress
from ._latency import run_latency
from ._memory import run_memory
from ._profile import run_profile
from ._requests import run_requests

BENCHMARKS = ("e2e", "decode", "latency", "memory", "requests", "profile")
DEFAULT = ("e2e", "decode", "latency", "memory", "requests")
PACKAGES = (
    "indica-async",
    "aiohttp",
    "orjson",
    "cattrs",
    "attrs",
    "tenacity",
    "yarl",
    "httpx",
    "pydantic",
    "msgspec",
)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """What each benchmark runs; ``--quick`` and the options override the defaults."""

    e2e_customers: int = 100_000
    e2e_rounds: int = 5
    decode_rounds: int = 15
    latency_rounds: int = 5
    memory_sizes: tuple[int, ...] = (100_000, 1_000_000)
    requests_customers: int = 50_000
    requests_rounds: int = 3
    distributions: tuple[str, ...] = ("bursty", "uniform")


QUICK = Sizes(
    e2e_customers=20_000,
    e2e_rounds=2,
    decode_rounds=3,
    latency_rounds=1,
    memory_sizes=(10_000, 100_000),
    requests_customers=50_000,
    requests_rounds=1,
    distributions=("bursty",),
)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())


def _names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(BENCHMARKS)}; got {unknown}")
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmarks of indica-async against its peers.",
    )
    add = parser.add_argument
    add("--only", type=_names, default=DEFAULT, metavar="NAMES", help=",".join(BENCHMARKS))
    add("--quick", action="store_true", help="small sizes and few rounds: a smoke run")
    add("--rounds", type=int, default=None, help="rounds of e2e, latency and requests")
    add("--customers", type=int, default=None, help="customers of the e2e data set")
    add("--memory-sizes", type=_ints, default=None, metavar="N,N", help="export sizes")
    add("--memory-tool", choices=("cli", "sdk"), default=None, help="default: cli if installed")
    add("--requests-customers", type=int, default=None, metavar="N")
    add("--distributions", default=None, metavar="D,D", help="of the requests benchmark")
    add("--profiler", choices=("cprofile", "none"), default="cprofile")
    add("--json", default=None, metavar="PATH", help="also write every sample as JSON")
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    """The defaults (or `QUICK`), with the options applied."""
    sizes = QUICK if args.quick else Sizes()
    changes: dict[str, Any] = {}
    if args.rounds is not None:
        changes.update(e2e_rounds=args.rounds, latency_rounds=args.rounds)
        changes.update(requests_rounds=args.rounds)
    if args.customers is not None:
        changes["e2e_customers"] = args.customers
    if args.memory_sizes is not None:
        changes["memory_sizes"] = args.memory_sizes
    if args.requests_customers is not None:
        changes["requests_customers"] = args.requests_customers
    if args.distributions is not None:
        changes["distributions"] = tuple(d.strip() for d in args.distributions.split(","))
    return dataclasses.replace(sizes, **changes)


def machine() -> str:
    """Cores, CPU model, Python and package versions, load: the report's header."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    load = "n/a"
    if hasattr(os, "getloadavg"):
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return "\n".join(
        [
            f"- Machine: {os.cpu_count()} cores, {model}; {platform.system()} {platform.release()}",
            f"- Python {platform.python_version()} ({platform.python_implementation()})",
            f"- Packages: {', '.join(versions)}",
            f"- Load average at start: {load}",
            f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks and print the report."""
    args = parse_args(argv)
    sizes = sizes_from(args)
    print("# indica-async benchmarks\n")
    print(machine())
    print(f"- Command: python -m benchmarks.run {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(flush=True)
    results: dict[str, Any] = {}
    steps: dict[str, tuple[str, Callable[[], Any]]] = {
        "e2e": (
            "End to end: iterate vs peers",
            lambda: run_e2e(sizes.e2e_customers, sizes.e2e_rounds),
        ),
        "decode": ("Decode alone", lambda: run_decode(sizes.decode_rounds)),
        "latency": (
            "Latency-bound: 50 ms per response, limit 50",
            lambda: run_latency(sizes.latency_rounds),
        ),
        "memory": (
            "Memory: streaming export",
            lambda: run_memory(list(sizes.memory_sizes), args.memory_tool),
        ),
        "requests": (
            "Requests per complete walk",
            lambda: run_requests(
                sizes.requests_customers, sizes.requests_rounds, list(sizes.distributions)
            ),
        ),
        "profile": (
            "Profile of the iterate path",
            lambda: run_profile(sizes.e2e_customers, profiler=args.profiler),
        ),
    }
    started = time.perf_counter()
    for name in BENCHMARKS:
        if name not in args.only:
            continue
        title, run = steps[name]
        began = time.perf_counter()
        result = run()
        results[name] = result
        text = result if isinstance(result, str) else result.report()
        print(f"## {title}\n\n{text}\n", flush=True)
        progress(f"{name}: {time.perf_counter() - began:.0f} s")
    print(f"Total time: {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {k: v if isinstance(v, str) else dataclasses.asdict(v) for k, v in results.items()},
                out,
                indent=1,
                default=str,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
