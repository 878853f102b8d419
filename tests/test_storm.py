"""Rate-limit storm: eight exports at once on one client, against a server allowing 50/s.

The client's shared rate-limit gate turns the server's 429s into a pace for all its
requests, so the server sees a bounded trickle of 429s, and every export completes
with exactly its ground truth. The same storm without the gate floods the server with
429s (two orders of magnitude more per minute) and requests starve until one gives up;
a gate that closes for the server's wait but does not pace fails the same checks too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Coroutine, Sequence
from typing import Any

import attrs
import pytest

from indica_async import AsyncIndicaClient, RateLimitError, RetryPolicy
from indica_async._ratelimit import RateLimitGate
from indica_async.sandbox import Sandbox, SandboxConfig, SandboxRecords

#: The server's allowance: requests per second, and its token bucket.
RATE = 50.0
BURST = 5
WALKS = 8
CUSTOMERS = 4000
LIMIT = 50
#: The bound the gate must keep: 429s per minute, across the whole client. Measured:
#: about 350/min (docs/reliability.md), against 3,000 requests/min that the server
#: allows; without the gate, 50,000/min and more.
MAX_429_PER_MINUTE = 900

POLICY = RetryPolicy(
    max_retries=30, initial_backoff=0.02, max_backoff=0.5, max_retry_after=1.0, max_retry_time=60
)
YEAR = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))


def ranges(count: int) -> list[tuple[dt.date, dt.date]]:
    """``count`` disjoint ranges that cover 2024."""
    first, last = YEAR
    span = (last - first).days + 1
    edges = [first + dt.timedelta(days=span * i // count) for i in range(count + 1)]
    return [(edges[i], edges[i + 1] - dt.timedelta(days=1)) for i in range(count)]


def truth(records: SandboxRecords, first: dt.date, last: dt.date) -> list[int]:
    return [r.id for r in records if first <= r.created <= last]


@attrs.frozen
class Storm:
    results: Sequence[list[int] | BaseException]
    elapsed: float
    requests: int
    throttled: int

    @property
    def per_minute(self) -> float:
        return self.throttled / self.elapsed * 60

    def report(self, label: str) -> str:
        return (
            f"\n{label}: {WALKS} walks, {self.requests} requests in {self.elapsed:.2f} s "
            f"({self.requests / self.elapsed:.0f}/s), {self.throttled} 429s "
            f"= {self.per_minute:,.0f}/min, {self.throttled / self.requests:.0%} of requests, "
            f"{sum(isinstance(r, RateLimitError) for r in self.results)} walks gave up"
        )


async def run_all(
    coros: Sequence[Coroutine[Any, Any, list[int]]],
) -> list[list[int] | BaseException]:
    """Run the walks together; on the first failure, cancel the others and wait for them."""
    tasks = [asyncio.ensure_future(coro) for coro in coros]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in tasks:
        task.cancel()
    return list(await asyncio.gather(*tasks, return_exceptions=True))


async def storm(sandbox: Sandbox, client: AsyncIndicaClient) -> Storm:
    async def walk(first: dt.date, last: dt.date) -> list[int]:
        return [
            c.id
            async for c in client.customers.iterate(
                start_date=first, end_date=last, limit=LIMIT, concurrency=8
            )
        ]

    started = time.perf_counter()
    results = await run_all([walk(first, last) for first, last in ranges(WALKS)])
    elapsed = time.perf_counter() - started
    return Storm(results, elapsed, sandbox.stats.requests, sandbox.stats.rate_limited)


def sandbox_config() -> SandboxConfig:
    return SandboxConfig(customers=CUSTOMERS, rate_limit=RATE, rate_burst=BURST, seed=4)


def gate_failures(result: Storm) -> list[str]:
    """What a working gate guarantees in this storm; empty when all of it holds."""
    failures = []
    if any(isinstance(r, BaseException) for r in result.results):
        failures.append("a walk failed")
    if result.per_minute > MAX_429_PER_MINUTE:
        failures.append(f"{result.per_minute:,.0f} 429s/min")
    if result.throttled > 0.25 * result.requests:
        failures.append(f"{result.throttled}/{result.requests} requests refused")
    if result.requests / result.elapsed < 0.5 * RATE:
        failures.append(f"{result.requests / result.elapsed:.0f} requests/s")
    return failures


class NoGate(RateLimitGate):
    """Broken: a 429 holds back no other request (each still honours its own wait)."""

    def pause(self, seconds: float) -> None:
        pass


class PauseWithoutPace(RateLimitGate):
    """Broken: the gate closes for the server's wait, then lets everyone rush out."""

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        self.interval = 0.0


async def test_the_shared_gate_keeps_429s_bounded_and_every_walk_exact() -> None:
    async with Sandbox(sandbox_config()) as sandbox:
        async with AsyncIndicaClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=POLICY
        ) as client:
            result = await storm(sandbox, client)
        print(result.report("storm, shared gate"))

        for (first, last), got in zip(ranges(WALKS), result.results, strict=True):
            assert not isinstance(got, BaseException), repr(got)
            assert got == truth(sandbox.records, first, last)
        assert sum(len(r) for r in result.results if isinstance(r, list)) == CUSTOMERS

        # The storm was real: the server refused requests, and the client saw each one.
        assert result.throttled > 0
        assert client.stats.rate_limited == result.throttled
        # The gate: a bounded number of 429s per minute, a small share of the requests,
        # and a pace close to what the server allows rather than a crawl.
        assert gate_failures(result) == []


@pytest.mark.parametrize("broken", [NoGate, PauseWithoutPace], ids=lambda cls: cls.__name__)
async def test_the_storm_checks_catch_a_broken_gate(broken: type[RateLimitGate]) -> None:
    """The same storm, the same client, the same checks, with the gate broken: the
    checks must fail. (A baseline that only shows the storm without any gate is bad
    could not catch a gate that closes but does not pace.)"""
    async with Sandbox(sandbox_config()) as sandbox:
        async with AsyncIndicaClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=POLICY
        ) as client:
            client._gate = broken(clock=client._gate.clock, max_wait=POLICY.max_retry_after)
            result = await storm(sandbox, client)
        print(result.report(f"storm, {broken.__name__}"))
    assert result.throttled > 0
    assert gate_failures(result) != []
    if broken is NoGate:
        # Without the gate the 429s flood: more than ten times the bound.
        assert result.per_minute > 10 * MAX_429_PER_MINUTE
