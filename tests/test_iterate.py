"""customers.pages/iterate against the sandbox over real loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import math
import weakref
from collections import Counter

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lying_server import LyingServer, serve

from indica_async import (
    AsyncIndicaClient,
    Page,
    Progress,
    RetryPolicy,
    ServerError,
    Window,
    WindowOverflowError,
)
from indica_async._converters import decode_customer
from indica_async.sandbox import FaultConfig, Sandbox, SandboxConfig, SandboxRecords

FAST = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, max_retry_after=0.02, max_retries=8)
D0 = dt.date(2024, 1, 1)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def truth(records: SandboxRecords, start: dt.date, end: dt.date) -> list[int]:
    return [r.id for r in records if start <= r.created <= end]


def client_for(sandbox: Sandbox, **kwargs: object) -> AsyncIndicaClient:
    return AsyncIndicaClient(
        sandbox.api_key,
        base_url=sandbox.base_url,
        retry=kwargs.pop("retry", FAST),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def other_tasks() -> set[asyncio.Task[object]]:
    """The walk's request tasks still pending (the sandbox's own handlers excluded)."""
    return {
        t
        for t in asyncio.all_tasks()
        if not t.done() and "pages.<locals>.fetch" in t.get_coro().__qualname__  # type: ignore[union-attr]
    }


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize("distribution", ["uniform", "growing", "bursty"])
async def test_iterate_returns_every_customer_exactly_once(distribution: str) -> None:
    config = SandboxConfig(customers=4000, distribution=distribution, seed=3)  # type: ignore[arg-type]
    async with Sandbox(config) as sandbox, client_for(sandbox) as client:
        progress = Progress()
        got = [
            c.id
            async for c in client.customers.iterate(
                start_date="2024-01-01", end_date="2024-12-31", limit=200, progress=progress
            )
        ]
    assert Counter(got) == Counter(truth(sandbox.records, day(0), dt.date(2024, 12, 31)))
    assert progress.customers == 4000
    assert progress.days_done == progress.days_total == 366
    assert progress.requests == sandbox.stats.by_endpoint["list"]
    # A small export pays for the first probe and a few cap checks; the request
    # efficiency at scale is covered by test_windows and the benchmark.
    assert progress.requests <= 2.5 * math.ceil(4000 / 200)


async def test_decoded_customers_equal_the_served_bodies() -> None:
    async with Sandbox(SandboxConfig(customers=300)) as sandbox, client_for(sandbox) as client:
        got = [c async for c in client.customers.iterate(start_date=D0, end_date="2024-12-31")]
    expected = {r.id: decode_customer(r.body) for r in sandbox.records}
    assert {c.id: c for c in got} == expected


async def test_pages_are_ordered_contiguous_and_carry_their_window() -> None:
    config = SandboxConfig(customers=2000, distribution="bursty", seed=1)
    async with Sandbox(config) as sandbox, client_for(sandbox) as client:
        pages: list[Page] = [
            p
            async for p in client.customers.pages(
                start_date="2024-01-01", end_date="2024-12-31", limit=100, concurrency=6
            )
        ]
    assert pages[0].first_day == day(0)
    assert pages[-1].last_day == dt.date(2024, 12, 31)
    for before, after in itertools.pairwise(pages):
        assert before.last_day + dt.timedelta(days=1) == after.first_day
    created = {r.id: r.created for r in sandbox.records}
    for page in pages:
        assert len(page.customers) < page.limit
        assert all(page.first_day <= created[c.id] <= page.last_day for c in page.customers)


async def test_as_completed_pages_cover_the_range_exactly_once() -> None:
    config = SandboxConfig(customers=1500, latency=0.002, seed=2)
    async with Sandbox(config) as sandbox, client_for(sandbox) as client:
        pages = [
            p
            async for p in client.customers.pages(
                start_date="2024-01-01", end_date="2024-12-31", limit=60, ordered=False
            )
        ]
    days = Counter(d for p in pages for d in p.window.iter_days())
    assert days == Counter(Window(day(0), dt.date(2024, 12, 31)).iter_days())
    assert sorted(c.id for p in pages for c in p.customers) == sorted(sandbox.records.ids)


async def test_both_envelopes() -> None:
    for envelope in ("bare", "data"):
        config = SandboxConfig(customers=500, envelope=envelope)  # type: ignore[arg-type]
        async with Sandbox(config) as sandbox, client_for(sandbox) as client:
            got = [
                c.id async for c in client.customers.iterate(start_date=D0, end_date="2024-12-31")
            ]
        assert sorted(got) == sorted(sandbox.records.ids)


async def test_a_server_cap_on_limit_is_detected_and_nothing_is_lost() -> None:
    config = SandboxConfig(customers=3000, limit_cap=40, seed=4)
    async with Sandbox(config) as sandbox, client_for(sandbox) as client:
        progress = Progress()
        got = [
            c.id
            async for c in client.customers.iterate(
                start_date=D0, end_date="2024-12-31", limit=150, progress=progress
            )
        ]
    assert progress.server_cap == 40
    assert sorted(got) == sorted(sandbox.records.ids)


async def test_a_full_single_day_is_escalated_then_reported() -> None:
    counts = {day(i): 3 for i in range(10)} | {day(4): 25}
    config = SandboxConfig(daily_counts=counts, start_date=D0, end_date=day(9))
    async with Sandbox(config) as sandbox, client_for(sandbox) as client:
        progress = Progress()
        got = [
            c.id
            async for c in client.customers.iterate(
                start_date=D0,
                end_date=day(9),
                limit=10,
                max_limit=30,
                initial_days=1,
                progress=progress,
            )
        ]
        assert sorted(got) == sorted(sandbox.records.ids)
        assert progress.limits_escalated >= 1
        assert any(
            r.limit == 30 and r.start_date == r.end_date for r in sandbox.stats.list_requests
        )

        with pytest.raises(WindowOverflowError) as info:
            async for _ in client.customers.iterate(
                start_date=D0, end_date=day(9), limit=10, max_limit=20
            ):
                pass
    assert info.value.day == day(4)
    assert "2024-01-05" in str(info.value)


async def test_concurrency_is_bounded_per_walk_and_per_client() -> None:
    config = SandboxConfig(customers=3000, latency=0.02, seed=5)
    async with Sandbox(config) as sandbox:
        async with client_for(sandbox) as client:
            async for _ in client.customers.iterate(
                start_date=D0, end_date="2024-12-31", limit=50, concurrency=3
            ):
                pass
        assert sandbox.stats.max_in_flight == 3

        sandbox.stats.reset()
        async with client_for(sandbox, max_connections=4) as client:

            async def walk(start: str, end: str) -> list[int]:
                return [
                    c.id
                    async for c in client.customers.iterate(
                        start_date=start, end_date=end, limit=50, concurrency=3
                    )
                ]

            first, second = await asyncio.gather(
                walk("2024-01-01", "2024-06-30"), walk("2024-07-01", "2024-12-31")
            )
        assert sandbox.stats.max_in_flight == 4
    assert sorted(first) == sorted(truth(sandbox.records, day(0), dt.date(2024, 6, 30)))
    assert sorted(second) == sorted(
        truth(sandbox.records, dt.date(2024, 7, 1), dt.date(2024, 12, 31))
    )


async def test_many_ranges_at_once_each_get_their_own_customers() -> None:
    config = SandboxConfig(customers=3000, seed=6, distribution="growing")
    ranges = [
        ("2024-01-01", "2024-03-31"),
        ("2024-02-15", "2024-09-30"),
        ("2024-09-01", "2024-12-31"),
    ]
    async with Sandbox(config) as sandbox, client_for(sandbox) as client:

        async def walk(start: str, end: str) -> list[int]:
            return [
                c.id
                async for c in client.customers.iterate(start_date=start, end_date=end, limit=80)
            ]

        results = await asyncio.gather(*(walk(s, e) for s, e in ranges))
    for (start, end), got in zip(ranges, results, strict=True):
        expected = truth(sandbox.records, dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        assert sorted(got) == sorted(expected)


async def test_scheduling_is_lazy_and_bounded_by_the_lookahead() -> None:
    # Twenty years, dense enough for thousands of windows; a consumer that stops early.
    config = SandboxConfig(
        customers=20_000, start_date=dt.date(2005, 1, 1), end_date=dt.date(2024, 12, 31)
    )
    async with Sandbox(config) as sandbox, client_for(sandbox) as client:
        walk = client.customers.pages(
            start_date="2005-01-01", end_date="2024-12-31", limit=20, concurrency=4, lookahead=6
        )
        consumed = 0
        async with contextlib.aclosing(walk):
            async for _ in walk:
                consumed += 1
                assert len(other_tasks()) <= 4
                await asyncio.sleep(0.01)  # a slow consumer: fetching must wait for it
                if consumed == 10:
                    break
        await settle()
        # The walk fetched at most what was consumed, the look-ahead, and its splits.
        assert sandbox.stats.by_endpoint["list"] <= 10 + 6 + 4 + 10
        assert other_tasks() == set()


def hang_from(first_hung: dt.date) -> LyingServer:
    """Five customers a day; requests for windows reaching ``first_hung`` never end."""
    days = {day(n): [1000 * n + i for i in range(5)] for n in range(366)}
    return LyingServer(days, hang=lambda first, last: last >= first_hung)


async def held(server: LyingServer, count: int) -> None:
    """Wait until the server holds ``count`` unanswered requests."""
    while len(server.held) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def all_dropped(server: LyingServer) -> None:
    """Wait until the server has seen every held request's connection closed."""
    while server.dropped() < len(server.held):  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def test_breaking_out_cancels_in_flight_requests() -> None:
    # Windows from day 10 on are never answered: only cancelling them can end them,
    # so closing the walk returns (and the server sees them dropped) only if it cancels.
    server = hang_from(day(10))
    async with serve(server), AsyncIndicaClient("k", base_url=server.base_url) as client:
        walk = client.customers.iterate(start_date=D0, end_date="2024-12-31", limit=30)
        async with asyncio.timeout(10):
            async with contextlib.aclosing(walk):
                async for customer in walk:
                    if customer.id >= 5000:  # day 5: later windows are in flight by now
                        break
            assert len(server.held) >= 2
            assert other_tasks() == set()
            await all_dropped(server)
        assert server.dropped() == len(server.held)


async def test_cancelling_the_consumer_leaves_nothing_behind() -> None:
    server = hang_from(day(1))
    async with serve(server), AsyncIndicaClient("k", base_url=server.base_url) as client:
        got: list[int] = []

        async def consume() -> None:
            async for customer in client.customers.iterate(
                start_date=D0, end_date="2024-12-31", limit=30, concurrency=8
            ):
                got.append(customer.id)

        task = asyncio.create_task(consume())
        await asyncio.wait_for(held(server, 4), 10)
        # The consumer now waits on requests that only a cancellation can end.
        assert not task.done()
        task.cancel()
        # Bounded apart from the task: a timeout that cancelled the test's own await
        # would raise the very CancelledError expected of the task.
        await asyncio.wait([task], timeout=10)
        assert task.done(), "the walk did not end after its consumer was cancelled"
        assert task.cancelled()
        assert other_tasks() == set()
        await asyncio.wait_for(all_dropped(server), 10)
        sent = server.requests
        await settle()
        assert server.requests == sent  # nothing new was sent after the cancel
        assert got == list(range(5))  # day 0, and nothing after it


@pytest.mark.parametrize("walk", ["iterate", "pages"])
async def test_a_consumed_page_is_not_kept_alive_while_the_next_is_awaited(walk: str) -> None:
    # Only day 0 is answered; the next window's request is held forever. While the walk
    # waits for it, nothing of the page already consumed may stay referenced: the
    # collector would traverse those models again and again.
    server = hang_from(day(1))
    async with serve(server), AsyncIndicaClient("k", base_url=server.base_url) as client:
        progress = Progress()
        options = {"start_date": D0, "end_date": "2024-12-31", "limit": 30, "progress": progress}
        consumed: list[weakref.ref[object]] = []
        if walk == "iterate":
            stream = client.customers.iterate(**options)  # type: ignore[arg-type]
            while not consumed or len(consumed) < progress.customers:
                consumed.append(weakref.ref(await anext(stream)))
        else:
            stream = client.customers.pages(**options)  # type: ignore[arg-type]
            consumed = [weakref.ref(c) for c in (await anext(stream)).customers]
        assert len(consumed) == 5  # day 0, the whole first page
        waiting = asyncio.create_task(anext(stream))  # type: ignore[arg-type]
        try:
            await asyncio.wait_for(held(server, 1), 10)
            assert not waiting.done()
            assert [ref() for ref in consumed] == [None] * 5
        finally:
            waiting.cancel()
            await asyncio.wait([waiting], timeout=10)
            await stream.aclose()


async def test_an_error_in_one_window_ends_the_walk_with_its_window() -> None:
    faults = FaultConfig(rate=1.0, kinds=("503_html",))
    config = SandboxConfig(customers=1000, faults=faults)
    async with (
        Sandbox(config) as sandbox,
        client_for(sandbox, retry=attrs.evolve(FAST, max_retries=1)) as client,
    ):
        with pytest.raises(ServerError) as info:
            async for _ in client.customers.iterate(start_date=D0, end_date="2024-12-31"):
                pass
        await settle()
        assert other_tasks() == set()
    assert info.value.status == 503
    assert info.value.window is not None
    assert info.value.window.first == D0
    assert "window 2024-01-01" in str(info.value)


async def test_faults_of_every_kind_are_retried_and_nothing_is_lost() -> None:
    faults = FaultConfig(
        rate=0.3,
        kinds=("429_seconds", "500", "502_html", "503", "504_html", "drop", "truncate", "latency"),
        retry_after=0.01,
        spike=0.01,
        seed=9,
    )
    config = SandboxConfig(customers=3000, faults=faults, seed=9)
    async with Sandbox(config) as sandbox, client_for(sandbox) as client:
        progress = Progress()
        got = [
            c.id
            async for c in client.customers.iterate(
                start_date=D0, end_date="2024-12-31", limit=100, progress=progress
            )
        ]
    assert sorted(got) == sorted(sandbox.records.ids)
    assert progress.retries > 0
    injected = +sandbox.stats.faults
    assert set(injected) >= {"429_seconds", "500", "drop", "truncate"}


async def test_a_429_pauses_every_walk_of_the_client() -> None:
    # A server that allows 80 requests/s: the shared gate keeps 429s rare. (The first
    # burst of 16 requests against a bucket of 4 draws 12 429s before the gate can know;
    # enough requests follow for the bound to be about the gate, not that burst.)
    config = SandboxConfig(customers=4000, rate_limit=80, rate_burst=4, seed=8)
    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, max_retries=20)
    async with Sandbox(config) as sandbox, client_for(sandbox, retry=policy) as client:

        async def walk(start: str, end: str) -> int:
            return len(
                [
                    c
                    async for c in client.customers.iterate(
                        start_date=start, end_date=end, limit=40, concurrency=8
                    )
                ]
            )

        counts = await asyncio.gather(
            walk("2024-01-01", "2024-06-30"), walk("2024-07-01", "2024-12-31")
        )
        assert sum(counts) == 4000
        assert client.stats.rate_limited == sandbox.stats.throttled
        # Every 429 closed the gate for the whole client, so a burst of 16 concurrent
        # requests costs a handful of 429s, not one per request per retry.
        assert client._gate.pauses == sandbox.stats.throttled
        assert sandbox.stats.throttled < sandbox.stats.requests / 3


# --- property: random data, limits, caps, envelopes and faults -----------------------

daily_counts = st.dictionaries(
    st.integers(0, 59).map(day),
    st.one_of(st.integers(0, 4), st.integers(5, 40), st.integers(60, 160)),
    max_size=40,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    counts=daily_counts,
    limit=st.integers(5, 80),
    extra=st.integers(0, 120),
    cap=st.one_of(st.none(), st.integers(5, 100)),
    envelope=st.sampled_from(["bare", "data"]),
    fault_rate=st.sampled_from([0.0, 0.0, 0.15]),
    concurrency=st.integers(1, 8),
    ordered=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_property_output_equals_ground_truth_or_names_the_day(
    counts: dict[dt.date, int],
    limit: int,
    extra: int,
    cap: int | None,
    envelope: str,
    fault_rate: float,
    concurrency: int,
    ordered: bool,
    seed: int,
) -> None:
    end = day(59)
    faults = FaultConfig(
        rate=fault_rate,
        kinds=("429_seconds", "500_html", "503", "drop", "truncate"),
        retry_after=0.005,
        seed=seed,
    )
    config = SandboxConfig(
        daily_counts=counts,
        start_date=D0,
        end_date=end,
        limit_cap=cap,
        envelope=envelope,  # type: ignore[arg-type]
        faults=faults,
        seed=seed,
    )
    max_limit = limit + extra
    ceiling = max_limit if cap is None else min(cap, max_limit)

    async def run() -> tuple[list[int], Progress, SandboxRecords]:
        progress = Progress()
        async with Sandbox(config) as sandbox, client_for(sandbox) as client:
            got = [
                c.id
                async for c in client.customers.iterate(
                    start_date=D0,
                    end_date=end,
                    limit=limit,
                    max_limit=max_limit,
                    concurrency=concurrency,
                    ordered=ordered,
                    progress=progress,
                )
            ]
            return got, progress, sandbox.records

    try:
        got, progress, records = asyncio.run(run())
    except WindowOverflowError as exc:
        assert counts.get(exc.day, 0) >= min(ceiling, exc.count)
        assert exc.count >= min(ceiling, limit)
        return
    missing = Counter(records.ids) - Counter(got)
    assert len(got) == len(set(got))  # never twice
    assert set(got) <= set(records.ids)
    # Nothing lost, except on single days the walk reported it could not verify.
    lost_days = {r.created for r in records if r.id in missing}
    assert lost_days <= set(progress.unverified_days)
    if cap is None or cap >= max_limit:
        assert not missing
