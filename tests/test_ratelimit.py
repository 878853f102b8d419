"""The rate-limit gate, on a fake clock."""

from __future__ import annotations

import pytest

from indica_async import _ratelimit
from indica_async._ratelimit import RateLimitGate


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()

    async def fake_sleep(seconds: float) -> None:
        fake.now += seconds

    monkeypatch.setattr(_ratelimit, "sleep", fake_sleep)
    return fake


def test_a_pause_is_never_shortened(clock: FakeClock) -> None:
    gate = RateLimitGate(clock=clock)
    gate.pause(5)
    gate.pause(1)
    assert gate.remaining() == 5
    assert gate.pauses == 2


def test_a_burst_of_429s_sets_the_pace_once_and_a_later_one_doubles_it(clock: FakeClock) -> None:
    gate = RateLimitGate(clock=clock)
    for _ in range(10):
        gate.pause(0.8)  # ten requests refused together: the pace is set, not compounded
    assert gate.interval == 0.1
    clock.now += 1  # the pause is over: a 429 now says the pace is still too fast
    gate.pause(0.8)
    assert gate.interval == 0.2


def test_a_pause_voids_turns_handed_out_before_it(clock: FakeClock) -> None:
    gate = RateLimitGate(clock=clock)
    gate.pause(1)
    gate._next_start = clock.now + 50  # turns reserved far ahead by earlier waiters
    gate.pause(1)
    assert gate._next_start == clock.now + 1


def test_successes_bring_the_pace_back_to_full_speed(clock: FakeClock) -> None:
    gate = RateLimitGate(clock=clock)
    gate.pause(0.1)
    for _ in range(100):
        gate.succeeded()
    assert gate.interval == 0.0


async def test_waiters_leave_one_interval_apart_after_the_pause(clock: FakeClock) -> None:
    gate = RateLimitGate(clock=clock)
    await gate.wait()
    assert clock.now == 100.0  # open: no wait at all
    gate.pause(2)
    starts = []
    for _ in range(3):
        await gate.wait()
        starts.append(clock.now)
    assert starts == [102.0, 102.25, 102.5]
