"""The sandbox's command line: ``python -m indica_async.sandbox``, serving until SIGINT or SIGTERM.

The one way to run the sandbox standalone (``indica-async sandbox serve`` runs this same
command). Prints ``INDICA_BASE_URL=...`` and then ``INDICA_API_KEY=...`` on stdout once
the port is bound (with ``--port 0``, the port the system chose), so scripts can read or
``eval`` them, and one line about what it serves on stderr. Its defaults are
`SandboxConfig`'s.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from typing import get_args

from ._config import (
    DEFAULT_API_KEY,
    FAULT_KINDS,
    Distribution,
    Envelope,
    FaultConfig,
    FaultKind,
    Plan,
    SandboxConfig,
)
from ._server import Sandbox, run_server


def _fault_kinds(value: str) -> tuple[FaultKind, ...]:
    kinds = tuple(kind.strip() for kind in value.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(
            f"unknown fault kinds {unknown}; choose from {','.join(FAULT_KINDS)}"
        )
    return kinds  # type: ignore[return-value]  # checked against FAULT_KINDS above


def _date(value: str) -> date:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{value!r} is not a date in the form YYYY-MM-DD")


def _parser(prog: str) -> argparse.ArgumentParser:
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local IndicaOnline double (customers endpoints, API v2.3).",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    add("--port", type=int, default=0, help="port to bind; 0 picks a free one (default: 0)")
    add(
        "--customers",
        type=int,
        default=defaults.customers,
        help="how many customers (default: %(default)s)",
    )
    add("--seed", type=int, default=defaults.seed, help="seed of the synthetic data")
    add("--distribution", choices=get_args(Distribution), default=defaults.distribution)
    add("--start-date", type=_date, default=defaults.start_date, metavar="YYYY-MM-DD")
    add("--end-date", type=_date, default=defaults.end_date, metavar="YYYY-MM-DD")
    add(
        "--no-vendor-sample",
        dest="vendor_sample",
        action="store_false",
        help="do not serve the vendor's sample customer (id 12345, state id CA987654)",
    )
    add("--envelope", choices=get_args(Envelope), default=defaults.envelope)
    add("--limit-cap", type=int, default=None, metavar="N", help="silent cap on limit")
    add("--max-limit", type=int, default=None, metavar="N", help="a larger limit is a 400")
    add("--plan", choices=get_args(Plan), default=defaults.plan)
    add("--api-key", default=DEFAULT_API_KEY, help="accepted X-Api-Key (default: %(default)s)")
    add("--latency", type=float, default=0.0, metavar="S", help="seconds added to responses")
    add("--rate-limit", type=float, default=None, metavar="RPS", help="requests per second")
    add("--rate-burst", type=int, default=None, metavar="N", help="token bucket size")
    add("--fault-rate", type=float, default=0.0, metavar="P", help="probability of a fault")
    add(
        "--fault-kinds",
        type=_fault_kinds,
        default=FAULT_KINDS,
        metavar="K,K",
        help=f"comma-separated, from: {','.join(FAULT_KINDS)} (default: all)",
    )
    add("--fault-seed", type=int, default=0, metavar="N")
    add("--retry-after", type=float, default=1.0, metavar="S", help="429 faults' Retry-After")
    add("--spike", type=float, default=0.5, metavar="S", help="latency fault's delay")
    return parser


def _ready(sandbox: Sandbox) -> None:
    # stdout holds only the two assignments, so scripts can read or eval them.
    print(f"INDICA_BASE_URL={sandbox.base_url}", flush=True)
    print(f"INDICA_API_KEY={sandbox.api_key}", flush=True)
    config = sandbox.config
    print(
        f"sandbox: {len(sandbox.records):,} customers created {config.start_date} to "
        f"{config.end_date}, plan {config.plan}; Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m indica_async.sandbox") -> int:
    """Run the sandbox's command line on ``argv`` (default: ``sys.argv[1:]``): serve
    until interrupted, and return the exit status. ``prog`` names it in messages."""
    parser = _parser(prog)
    args = parser.parse_args(argv)
    try:
        config = SandboxConfig(
            seed=args.seed,
            customers=args.customers,
            start_date=args.start_date,
            end_date=args.end_date,
            distribution=args.distribution,
            envelope=args.envelope,
            limit_cap=args.limit_cap,
            max_limit=args.max_limit,
            vendor_sample=args.vendor_sample,
            plan=args.plan,
            api_key=args.api_key,
            latency=args.latency,
            rate_limit=args.rate_limit,
            rate_burst=args.rate_burst,
            faults=FaultConfig(
                rate=args.fault_rate,
                kinds=args.fault_kinds,
                seed=args.fault_seed,
                retry_after=args.retry_after,
                spike=args.spike,
            ),
        )
    except ValueError as exc:
        parser.error(str(exc))
    run_server(config, host=args.host, port=args.port, ready=_ready)
    return 0
