"""Fault soak: a complete export through a sandbox that fails 30% of its requests.

Every fault kind the sandbox knows is drawn: 429 with ``Retry-After`` in seconds and as
an HTTP date, 500/502/503/504 with JSON and with HTML bodies, dropped connections,
bodies cut short and latency spikes. The export must still be exactly the ground
truth, in order: no customer lost, none twice.

CI runs 10,000 customers. ``INDICA_SOAK_FULL=1`` (``nox -s soak``) runs 100,000; the
figures it prints are recorded in docs/reliability.md.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter

import pytest

from indica_async import AsyncIndicaClient, Progress, RetryPolicy, Timeout
from indica_async.sandbox import FAULT_KINDS, FaultConfig, Sandbox, SandboxConfig

FULL = os.environ.get("INDICA_SOAK_FULL") == "1"
CUSTOMERS = 100_000 if FULL else 10_000
#: A small limit means many requests, so every fault kind is drawn many times.
LIMIT = 100 if FULL else 50
START, END = dt.date(2020, 1, 1), dt.date(2024, 12, 31)
FAULT_RATE = 0.3

FAULTS = FaultConfig(
    rate=FAULT_RATE,
    kinds=FAULT_KINDS,
    # The 429 faults announce 5 ms; the HTTP-date form rounds up to a whole second,
    # which the client caps at max_retry_after below.
    retry_after=0.005,
    spike=0.05,
    seed=2024,
)
POLICY = RetryPolicy(
    max_retries=12,
    initial_backoff=0.005,
    max_backoff=0.05,
    max_retry_after=0.01,
    max_retry_time=60.0,
)


@pytest.mark.timeout(900 if FULL else 120)
async def test_a_faulty_export_is_exactly_the_ground_truth() -> None:
    config = SandboxConfig(
        customers=CUSTOMERS, start_date=START, end_date=END, faults=FAULTS, seed=2024
    )
    progress = Progress()
    async with Sandbox(config) as sandbox:
        async with AsyncIndicaClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=POLICY, timeout=Timeout(total=10)
        ) as client:
            started = time.perf_counter()
            ids = [
                customer.id
                async for customer in client.customers.iterate(
                    start_date=START, end_date=END, limit=LIMIT, progress=progress
                )
            ]
            elapsed = time.perf_counter() - started
        stats = sandbox.stats
        faults = Counter({kind: stats.faults[kind] for kind in FAULT_KINDS})
        list_requests = stats.by_endpoint["list"]
        injected = sum(faults.values())

        print(
            f"\nsoak: {len(ids):,} customers in {elapsed:.1f} s "
            f"({len(ids) / elapsed:,.0f}/s), limit={LIMIT}\n"
            f"  list requests {list_requests:,}, faults injected {injected:,} "
            f"({injected / list_requests:.1%}), retries {client.stats.retries:,}, "
            f"429s {stats.throttled:,}, walk requests {progress.requests:,}, windows split {progress.windows_split}, "
            f"cap checks {progress.cap_checks}\n"
            "  faults per kind: " + ", ".join(f"{kind} {faults[kind]}" for kind in FAULT_KINDS)
        )

        # Exactly the ground truth, in creation order: nothing lost, nothing twice.
        assert len(ids) == CUSTOMERS
        assert len(set(ids)) == len(ids)
        assert ids == list(sandbox.records.ids)
        assert progress.customers == CUSTOMERS
        assert progress.days_done == progress.days_total == (END - START).days + 1

        # The soak really was faulty, across every kind, at about the rate asked for.
        assert set(+faults) == set(FAULT_KINDS)
        assert 0.2 < injected / list_requests < 0.4
        # Each fault but a latency spike (a late success) costs exactly one more request:
        # nothing else failed, and no failure was given up on or swallowed. The SDK
        # retries them all, but for dropped connections that aiohttp itself re-sends
        # once when the dropped connection was a reused keep-alive one.
        failed = injected - faults["latency"]
        assert list_requests == progress.requests + failed
        assert failed - faults["drop"] <= client.stats.retries <= failed
        assert progress.retries == client.stats.retries
        assert client.stats.rate_limited == stats.throttled
        assert stats.in_flight == 0
