"""The window walk against servers that lie, over loopback: exactly once, no false
overflow, and a look-ahead that bounds how far the walk runs ahead of its consumer."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest
from lying_server import LyingServer, serve

from indica_async import AsyncIndicaClient, Progress, RetryPolicy

FAST = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, max_retry_after=0.02, max_retries=3)
D0 = dt.date(2024, 1, 1)
END = dt.date(2024, 3, 31)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def daily(per_day: int, days: int = 91) -> dict[dt.date, list[int]]:
    return {day(n): [1000 * n + i for i in range(per_day)] for n in range(days)}


def client_for(server: LyingServer) -> AsyncIndicaClient:
    return AsyncIndicaClient("test-key", base_url=server.base_url, retry=FAST)


async def walk(server: LyingServer, progress: Progress, **kwargs: object) -> list[int]:
    async with client_for(server) as client:
        return [
            c.id
            async for c in client.customers.iterate(
                start_date=D0,
                end_date=END,
                progress=progress,
                **kwargs,  # type: ignore[arg-type]
            )
        ]


@pytest.mark.parametrize("ordered", [True, False])
async def test_a_customer_repeated_inside_every_page_is_yielded_once(ordered: bool) -> None:
    data = daily(7)
    truth = sorted(i for ids in data.values() for i in ids)
    async with serve(LyingServer(data, repeat_in_page=True)) as server:
        progress = Progress()
        got = await walk(server, progress, limit=40, ordered=ordered)
    assert sorted(got) == truth
    # Each page yielded repeated one customer; each repeat was dropped and counted.
    assert progress.duplicates_dropped == progress.pages > 0
    assert progress.customers == len(truth)
    # The repeats did not pass for customers a cap had hidden.
    assert progress.server_cap is None


async def test_without_dedupe_the_repeats_are_yielded_and_not_counted() -> None:
    data = daily(7)
    async with serve(LyingServer(data, repeat_in_page=True)) as server:
        progress = Progress()
        got = await walk(server, progress, limit=40, dedupe=False)
    assert sorted(set(got)) == sorted(i for ids in data.values() for i in ids)
    assert len(got) - len(set(got)) == progress.pages
    assert progress.duplicates_dropped == 0


async def test_a_customer_in_two_windows_is_yielded_once() -> None:
    data = daily(5)
    data[day(3)].append(777_777)
    data[day(80)].append(777_777)
    async with serve(LyingServer(data)) as server:
        progress = Progress()
        got = await walk(server, progress, limit=30)
    assert Counter(got)[777_777] == 1
    assert sorted(got) == sorted({i for ids in data.values() for i in ids})
    assert progress.duplicates_dropped == 1


@pytest.mark.parametrize("nth", [0, 1, 2, 5])
async def test_one_page_of_limit_minus_one_makes_no_false_overflow(nth: int) -> None:
    # 25 a day at limit=20: every window is full, split, and days escalated to
    # max_limit. One of those full pages comes back one short (limit - 1); the server
    # is honest before and after. That once made the walk infer a cap of 19 and fail
    # an ordinary day with WindowOverflowError "at limit=20".
    data = daily(25, days=20)
    truth = {i for ids in data.values() for i in ids}
    async with serve(LyingServer(data, short_full_page=nth)) as server:
        progress = Progress()
        async with client_for(server) as client:
            got = [
                c.id
                async for c in client.customers.iterate(
                    start_date=D0,
                    end_date=day(19),
                    limit=20,
                    max_limit=40,
                    initial_days=2,
                    progress=progress,
                )
            ]
    assert progress.server_cap is None
    assert len(got) == len(set(got)) and set(got) <= truth
    missing = truth - set(got)
    assert server.shortened is not None  # the lie was told
    first, last, limit = server.shortened
    if nth == 0:
        # Short before any full page was seen: checked, and nothing is lost.
        assert missing == set()
    elif first == last and limit == 20:
        # Short after full pages of 20 were seen: a single day asked for 20 answered 19.
        # The server has already returned 20 at once, so no cap of its own explains 19;
        # and a day of 19 customers answers exactly that. The page looked short and
        # honest: no client can tell without asking every short day again. What is lost
        # is that page's day, and exactly the records the server left off.
        assert missing == set(data[first][limit - 1 :])
    else:
        # A page of several days, or of one day asked for more: checked, nothing lost.
        assert missing == set()


async def test_the_lookahead_bounds_windows_fetched_past_a_slow_one() -> None:
    # Day 1 is not answered until released; every other day answers at once. Ordered
    # pages wait for day 1, so everything fetched meanwhile waits in the look-ahead.
    data = daily(5)
    lookahead = 4
    server = LyingServer(data, hang=lambda first, last: first <= day(1) <= last and first > D0)
    async with serve(server), client_for(server) as client:
        pages = client.customers.pages(
            start_date=D0,
            end_date=END,
            limit=30,
            concurrency=8,
            lookahead=lookahead,
            detect_cap=False,  # no cap checks: every request is a new window
        )
        first = await anext(pages)
        assert first.window.first == D0
        second = asyncio.ensure_future(anext(pages))
        async with asyncio.timeout(10):
            while len(server.held) < 1 or server.requests < 1 + lookahead:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)  # time enough to run past the bound, were there none
        assert not second.done()
        # The first window, and at most `lookahead` in flight or waiting (the held one
        # among them): not the 80-odd windows left of the range.
        assert server.requests == 1 + lookahead
        server.release.set()
        rest = [await second] + [p async for p in pages]
    got = [c.id for p in [first, *rest] for c in p.customers]
    assert sorted(got) == sorted(i for ids in data.values() for i in ids)
