"""``python -m benchmarks.sync_bench``: the sync engine's first run, memory and incremental run.

- **first sync vs export**: ``customers sync`` of N sandbox customers into a new SQLite
  file against ``customers export`` of the same range to a JSONL file, one run each,
  paired (export, then sync), both over loopback against one sandbox process.
- **memory**: the peak RSS (``ru_maxrss``) of each command's process, at each N.
- **incremental**: after the sandbox gains 1,000 customers created today, an incremental
  run on the largest store: its time against the first run's, and its requests.

Each command runs in a child process that runs the command line in-process and then
reports its own peak RSS, so neither the sandbox nor this process is counted. The
sandbox holds 137 customers a day, ending today. Progress goes to stderr; stdout holds
the report (Markdown).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence

DENSITY = 137
NEW_TODAY = 1_000


def _spec(customers: int) -> tuple[dt.date, dt.date]:
    today = dt.date.today()
    days = max(1, round(customers / DENSITY))
    return today - dt.timedelta(days=days - 1), today


def _serve(customers: int, add: int) -> None:
    """Child: serve ``customers`` (plus ``add`` created today) until killed."""
    from indica_async.sandbox import (
        Sandbox,
        SandboxConfig,
        add_customers,
        generate_customers,
        serve,
    )

    start, end = _spec(customers)
    config = SandboxConfig(customers=customers, start_date=start, end_date=end)
    records = generate_customers(config)
    if add:
        records, _ = add_customers(records, add, day=end, seed=1)

    def ready(sandbox: Sandbox) -> None:
        print(sandbox.base_url, flush=True)

    asyncio.run(serve(config, records=records, ready=ready))


def _cli(args: Sequence[str]) -> None:
    """Child: run the command line, then print its peak RSS in KiB on stderr."""
    from indica_async.cli import main

    code = main(list(args))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"PEAK_KIB={peak}", file=sys.stderr, flush=True)
    sys.exit(code)


@contextlib.contextmanager
def _sandbox(customers: int, add: int = 0) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.sync_bench", "--serve", str(customers), str(add)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError("the sandbox did not start")
        yield url
    finally:
        process.kill()
        process.wait()


def _run(url: str, *args: str) -> tuple[float, float, str]:
    """Seconds, peak MiB and stderr of one command against the sandbox at ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDICA_")}
    env["INDICA_API_KEY"] = "sandbox-key"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.sync_bench", "--cli", *args, "--base-url", url],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr}")
    peak = re.search(r"PEAK_KIB=(\d+)", done.stderr)
    assert peak is not None
    return seconds, int(peak.group(1)) / 1024, done.stderr


def _engine_seconds(summary: str) -> float:
    found = re.search(r"requests in ([\d.]+) s", summary)
    assert found is not None
    return float(found.group(1))


def _requests(summary: str) -> int:
    found = re.search(r"([\d,]+) requests in", summary)
    assert found is not None
    return int(found.group(1).replace(",", ""))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(sizes: Sequence[int]) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        last_db = ""
        first_seconds = first_engine = 0.0
        for customers in sizes:
            start, end = _spec(customers)
            _say(f"sandbox of {customers:,} customers ({start} to {end}) starting")
            with _sandbox(customers) as url:
                out = os.path.join(tmp, f"export-{customers}.jsonl")
                db = os.path.join(tmp, f"store-{customers}.sqlite")
                load_before = os.getloadavg()[0]
                _say(f"export ... (load average {load_before:.2f})")
                export_s, export_mib, _ = _run(
                    url,
                    "customers",
                    "export",
                    "--start-date",
                    str(start),
                    "--end-date",
                    str(end),
                    "--output",
                    out,
                    "--quiet",
                )
                _say(f"export: {export_s:.1f} s, {export_mib:.0f} MiB; sync ...")
                sync_s, sync_mib, err = _run(
                    url, "customers", "sync", "--db", db, "--since", str(start)
                )
                _say(f"sync: {sync_s:.1f} s, {sync_mib:.0f} MiB; {err.strip().splitlines()[0]}")
                rows.append(
                    (
                        customers,
                        export_s,
                        sync_s,
                        export_mib,
                        sync_mib,
                        _requests(err),
                        os.path.getsize(db) / 2**20,
                        f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}",
                    )
                )
                last_db, first_seconds, first_engine = db, sync_s, _engine_seconds(err)
            os.remove(out)
        customers = sizes[-1]
        _say(f"sandbox of {customers:,} + {NEW_TODAY:,} new today starting")
        with _sandbox(customers, NEW_TODAY) as url:
            inc_s, _, err = _run(url, "customers", "sync", "--db", last_db, "--max-limit", "5000")
            _say(f"incremental: {inc_s:.1f} s; {err.strip().splitlines()[0]}")
            walk_s, _, walk_err = _run(
                url,
                "customers",
                "export",
                "--start-date",
                str(dt.date.today() - dt.timedelta(days=2)),
                "--end-date",
                str(dt.date.today()),
                "--output",
                os.devnull,
                "--max-limit",
                "5000",
            )

    print("## Sync: first run into SQLite vs the JSONL export (one run each, paired)\n")
    print(
        "| customers | export s | sync s | sync/export throughput | sync/export time | "
        "export peak MiB | sync peak MiB | sync requests | store MiB | load average |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for n, es, ss, em, sm, req, size, load in rows:
        print(
            f"| {n:,} | {es:.1f} | {ss:.1f} | {es / ss:.2f}x | {ss / es:.2f}x | {em:.0f} | "
            f"{sm:.0f} | {req:,} | {size:.0f} | {load} |"
        )
    print(
        "\n(Load average: the 1-minute figure before the export and after the sync, on "
        f"{os.cpu_count()} cores.)"
    )
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        print(
            f"\nPeak memory of the sync, {large[0]:,} vs {small[0]:,}: "
            f"{large[4] / small[4]:.2f}x (export: {large[3] / small[3]:.2f}x)."
        )
    print(f"\n## Incremental run: {NEW_TODAY:,} new customers on a store of {sizes[-1]:,}\n")
    inc_engine = _engine_seconds(err)
    print(
        f"- the run itself: {inc_engine:.2f} s = {inc_engine / first_engine:.2%} of the first "
        f"run's {first_engine:.1f} s (as each command's summary reports it)"
    )
    print(
        f"- the whole command, interpreter start included: {inc_s:.2f} s = "
        f"{inc_s / first_seconds:.2%} of the first run's {first_seconds:.1f} s"
    )
    print(
        f"- {_requests(err):,} requests; the export of the same days (today - 2 to today) "
        f"takes {_requests_export(walk_err)} and {walk_s:.2f} s"
    )
    print(f"- summary: `{err.strip().splitlines()[0]}`")


def _requests_export(summary: str) -> str:
    found = re.search(r"([\d,]+) requests", summary)
    return found.group(1) if found else "?"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--cli":
        _cli(sys.argv[2:])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument(
            "--sizes", default="100000,1000000", help="customers, comma-separated, ascending"
        )
        options = parser.parse_args()
        main([int(size) for size in options.sizes.split(",")])
