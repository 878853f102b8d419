"""Calls end in bounded time, and a client leaves nothing open behind it.

- A server that never answers ends every call in `APITimeoutError` within the retry
  policy's total time (plus a little slack), whatever the per-attempt timeout.
- A server that always answers 503 ends in `ServerError` after exactly
  ``max_retries + 1`` attempts.
- After `aclose()`, whether the export completed, was cancelled mid-way, was abandoned
  or failed, the process holds no more file descriptors, TCP connections or tasks
  than before the client was made (the sandbox is started before counting).
- A client driven from a second event loop fails at once with `ClientStateError`,
  while its own loop's export carries on undisturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable

import attrs
import pytest
from conftest import Resources, SilentServer

from indica_async import (
    APITimeoutError,
    AsyncIndicaClient,
    ClientStateError,
    IndicaError,
    RetryPolicy,
    ServerError,
    Timeout,
)
from indica_async.sandbox import FaultConfig, Sandbox, SandboxConfig

KEY = "lifecycle-key"
SLACK = 0.75
FAST = RetryPolicy(initial_backoff=0.005, max_backoff=0.02, max_retry_after=0.02, max_retries=8)


# --- bounded time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt_timeout", "min_attempts"),
    [
        # Short attempts: several time out, then the total bound ends the call.
        (Timeout(connect=1, total=0.15), 3),
        # The default 60 s attempt is cut to what is left of the total bound.
        (Timeout(), 1),
        # No per-attempt bound at all: the total bound still holds.
        (Timeout(connect=None, total=None), 1),
    ],
    ids=["short-attempts", "default-attempt", "no-attempt-timeout"],
)
async def test_a_server_that_never_answers_ends_in_a_timeout_within_the_bound(
    silent_server: SilentServer, attempt_timeout: Timeout, min_attempts: int
) -> None:
    bound = 0.7
    policy = RetryPolicy(max_retries=1000, max_retry_time=bound, initial_backoff=0.01)
    async with AsyncIndicaClient(
        KEY, base_url=silent_server.base_url, retry=policy, timeout=attempt_timeout
    ) as client:
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "get": lambda: client.customers.get(1),
            "list": lambda: client.customers.list(start_date="2024-01-01", end_date="2024-01-31"),
        }
        for name, call in calls.items():
            accepted = silent_server.accepted
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                await asyncio.wait_for(call(), timeout=bound + 10)
            took = time.monotonic() - started
            assert took <= bound + SLACK, f"{name} took {took:.2f} s"
            assert silent_server.accepted - accepted >= min_attempts, name


async def test_an_export_from_a_server_that_never_answers_ends_within_the_bound(
    silent_server: SilentServer,
) -> None:
    bound = 0.7
    policy = RetryPolicy(max_retries=1000, max_retry_time=bound, initial_backoff=0.01)
    async with AsyncIndicaClient(KEY, base_url=silent_server.base_url, retry=policy) as client:

        async def export() -> None:
            async for _ in client.customers.iterate(start_date="2024-01-01", end_date="2024-12-31"):
                pass

        started = time.monotonic()
        with pytest.raises(APITimeoutError) as info:
            await asyncio.wait_for(export(), timeout=bound + 10)
        assert time.monotonic() - started <= bound + SLACK
    assert info.value.window is not None  # the failing window is named


@pytest.mark.parametrize("max_retries", [0, 1, 4])
async def test_a_server_that_always_fails_ends_after_exactly_max_retries_plus_one(
    max_retries: int,
) -> None:
    config = SandboxConfig(customers=200, faults=FaultConfig(rate=1.0, kinds=("503_html",)))
    policy = RetryPolicy(max_retries=max_retries, initial_backoff=0.01, max_backoff=0.02)
    async with (
        Sandbox(config) as sandbox,
        AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url, retry=policy) as client,
    ):
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "get": lambda: client.customers.get(10_001),
            "state": lambda: client.customers.get_by_state_id("X1"),
            "list": lambda: client.customers.list(start_date="2024-01-01", end_date="2024-01-31"),
            "iterate": lambda: anext(
                client.customers.iterate(start_date="2024-01-01", end_date="2024-12-31")
            ),
        }
        for name, call in calls.items():
            sent = sandbox.stats.requests
            started = time.monotonic()
            with pytest.raises(ServerError) as info:
                await asyncio.wait_for(call(), timeout=10)
            assert info.value.status == 503
            assert sandbox.stats.requests - sent == max_retries + 1, name
            assert time.monotonic() - started < 2.0, name
        assert client.stats.retries == 4 * max_retries


async def test_per_call_max_retries_is_exact_too() -> None:
    config = SandboxConfig(customers=10, faults=FaultConfig(rate=1.0, kinds=("502",)))
    async with (
        Sandbox(config) as sandbox,
        AsyncIndicaClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=attrs.evolve(FAST, max_retries=7)
        ) as client,
    ):
        with pytest.raises(ServerError):
            await client.customers.get(10_001, max_retries=2)
        assert sandbox.stats.requests == 3


# --- nothing left open ------------------------------------------------------------------


async def warm_up(client: AsyncIndicaClient, sandbox: Sandbox) -> None:
    """Leave idle keep-alive connections in the client's pool: only aclose() ends them."""
    first = sandbox.records.ids[0]
    await asyncio.gather(*(client.customers.get(first) for _ in range(4)))


async def test_nothing_is_left_open_after_a_faulty_export_and_aclose(
    resources: Resources,
) -> None:
    faults = FaultConfig(rate=0.3, retry_after=0.005, spike=0.02, seed=5)
    async with Sandbox(SandboxConfig(customers=3000, faults=faults, seed=5)) as sandbox:
        before = resources.snapshot()
        client = AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url, retry=FAST)
        ids = [
            c.id
            async for c in client.customers.iterate(
                start_date="2024-01-01", end_date="2024-12-31", limit=100
            )
        ]
        assert ids == list(sandbox.records.ids)
        during = resources.snapshot()
        assert during.fds > before.fds  # pooled keep-alive connections: the count sees them
        await client.aclose()
        after = await resources.settled_to(before)
    assert sum(sandbox.stats.faults.values()) > 0
    assert after.fds == before.fds
    assert after.connections == before.connections
    assert after.tasks <= before.tasks


async def test_nothing_is_left_open_after_cancelling_an_export_mid_way(
    resources: Resources,
) -> None:
    async with Sandbox(SandboxConfig(customers=5000, latency=0.05)) as sandbox:
        before = resources.snapshot()
        client = AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url, retry=FAST)
        try:
            await warm_up(client, sandbox)
            got: list[int] = []

            async def export() -> None:
                async for customer in client.customers.iterate(
                    start_date="2024-01-01", end_date="2024-12-31", limit=20, concurrency=8
                ):
                    got.append(customer.id)

            task = asyncio.ensure_future(export())
            # Cancel once the walk runs at full width: several requests in flight.
            for _ in range(500):
                if got and sandbox.stats.in_flight >= 4:
                    break
                await asyncio.sleep(0.005)
            assert sandbox.stats.in_flight >= 4
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await client.aclose()
        after = await resources.settled_to(before)
    assert got == list(sandbox.records.ids)[: len(got)]
    assert after.fds == before.fds
    assert after.connections == before.connections
    assert after.tasks <= before.tasks


async def test_nothing_is_left_open_after_abandoning_an_export(resources: Resources) -> None:
    async with Sandbox(SandboxConfig(customers=5000, latency=0.02)) as sandbox:
        before = resources.snapshot()
        async with AsyncIndicaClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=FAST
        ) as client:
            await warm_up(client, sandbox)
            walk = client.customers.iterate(
                start_date="2024-01-01", end_date="2024-12-31", limit=20, concurrency=8
            )
            async with contextlib.aclosing(walk):
                async for _ in walk:
                    break
        after = await resources.settled_to(before)
    assert after.fds == before.fds
    assert after.connections == before.connections
    assert after.tasks <= before.tasks


async def test_nothing_is_left_open_after_errors(resources: Resources) -> None:
    config = SandboxConfig(customers=500, faults=FaultConfig(rate=1.0, kinds=("drop", "503")))
    async with Sandbox(config) as sandbox:
        before = resources.snapshot()
        async with AsyncIndicaClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=attrs.evolve(FAST, max_retries=2)
        ) as client:
            for _ in range(3):
                with pytest.raises(IndicaError):
                    async for _ in client.customers.iterate(
                        start_date="2024-01-01", end_date="2024-12-31"
                    ):
                        pass
            with pytest.raises(IndicaError):
                await client.customers.get(10_001)
        after = await resources.settled_to(before)
    assert sandbox.stats.requests >= 4 * 3
    assert after.fds == before.fds
    assert after.connections == before.connections
    assert after.tasks <= before.tasks


async def test_nothing_is_left_open_after_timeouts(
    silent_server: SilentServer, resources: Resources
) -> None:
    before = resources.snapshot()
    policy = RetryPolicy(max_retries=3, max_retry_time=5, initial_backoff=0.01)
    async with AsyncIndicaClient(
        KEY, base_url=silent_server.base_url, retry=policy, timeout=0.1
    ) as client:
        with pytest.raises(APITimeoutError):
            await client.customers.get(1)
    assert silent_server.accepted == 4

    def client_side() -> set[tuple[object, object, str]]:
        now = resources.snapshot().connections
        return {c for c in now if getattr(c[1], "port", None) == silent_server.port}

    for _ in range(100):
        if not client_side():
            break
        await asyncio.sleep(0.02)
    # The silent server still holds its side of the four connections; the client's
    # side of each timed-out attempt is closed.
    assert client_side() == set()
    assert resources.snapshot().fds == before.fds + silent_server.accepted


# --- event loops ------------------------------------------------------------------------


async def test_a_second_event_loop_fails_fast_and_the_first_export_carries_on() -> None:
    async with Sandbox(SandboxConfig(customers=3000, latency=0.01)) as sandbox:
        async with AsyncIndicaClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=FAST
        ) as client:
            outcome: list[BaseException] = []
            took: list[float] = []

            def from_another_loop() -> None:
                async def use() -> None:
                    async for _ in client.customers.iterate(
                        start_date="2024-01-01", end_date="2024-12-31"
                    ):
                        pass

                started = time.monotonic()
                try:
                    asyncio.run(use())
                except BaseException as exc:
                    outcome.append(exc)
                took.append(time.monotonic() - started)

            got: list[int] = []
            thread: threading.Thread | None = None
            async for customer in client.customers.iterate(
                start_date="2024-01-01", end_date="2024-12-31", limit=100
            ):
                got.append(customer.id)
                if thread is None and len(got) >= 200:
                    thread = threading.Thread(target=from_another_loop)
                    thread.start()
            assert thread is not None
            await asyncio.to_thread(thread.join, 10)
            assert not thread.is_alive()
        assert got == list(sandbox.records.ids)
    assert len(outcome) == 1 and isinstance(outcome[0], ClientStateError), outcome
    assert "another event loop" in str(outcome[0])
    assert took[0] < 1.0
