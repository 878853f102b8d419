"""The rate-limit gate one client shares across all its requests.

The gate's rules are plain arithmetic on an injected clock (`pause`, `succeeded`,
`next_start`), testable without an event loop; `wait` is the thin asynchronous part
that queues requests in order and never waits past a call's deadline.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

#: The first 429 sets the pace to this share of the server's wait: Retry-After says
#: when one request may go again, not how far apart all of them must be.
_FIRST_PACE = 1 / 8
#: Paces up to this interval (seconds) are always allowed, whatever the server's wait:
#: a Retry-After in fractions of a second is a rate limiter's time to its next token,
#: which can be shorter than the spacing its rate needs. Longer paces are slow paces.
_RATE_PACE = 0.1
#: After a 429, each success shortens the pacing interval by this factor: near the
#: server's allowed rate, the client creeps up on it instead of overrunning it...
_SPEED_UP = 0.9
#: ...while a slow pace is no rate limit's spacing: there each success also adds this
#: many requests a second to the pace, and from this many successes in a row on halves
#: it, so a long interval left by a storm is gone within a few round trips.
_RATE_STEP = 4.0
_SLOW_STREAK = 3
#: Below this interval (seconds), pacing is switched off again, once this many
#: successes in a row have come since the last 429.
_OFF_STREAK = 32
_MIN_INTERVAL = 0.001


async def sleep(seconds: float) -> None:
    """Every wait of the SDK (backoff and gate) goes through here, so tests can observe it."""
    await asyncio.sleep(seconds)


class RateLimitGate:
    """Paces every request of one client after the server rate-limits it.

    A 429 closes the gate for the server's wait, capped at ``max_wait`` (the policy's
    ``max_retry_after``): every request of the client waits, not only the one that was
    refused. When it opens, requests leave one at a time, in the order they came, at
    least ``interval`` apart. The interval doubles with each 429 that still comes after
    a pause has ended, but never exceeds the longest wait the server asked for; each
    success shortens it (AIMD, as in TCP), so the client settles near the rate the
    server allows, and a long interval left by a storm is gone within a few answers.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_wait: float = float("inf")
    ) -> None:
        self.clock = clock
        # The policy's cap on any wait (max_retry_after): no pause nor pace exceeds it.
        self._max_wait = max_wait
        self._until = 0.0
        self._last_start = -float("inf")
        self.interval = 0.0
        # The longest wait the server asked for since pacing began: the pace's ceiling.
        # (A rate limiter's Retry-After is the wait for its next token, so the latest
        # alone can be far shorter than the spacing its rate needs.)
        self._ceiling = 0.0
        # Successes since the last 429.
        self._streak = 0
        #: How many times the gate was closed (one per 429 seen).
        self.pauses = 0
        self._queue: collections.deque[object] = collections.deque()
        self._changed: asyncio.Event | None = None

    # --- the rules (pure, on the clock) ----------------------------------------------

    def pause(self, seconds: float) -> None:
        """Close the gate for ``seconds``, at most ``max_wait`` (never shortening a
        pause), and slow the pace.

        The pace doubles only for a 429 that arrives after the previous pause ended
        (the pace was still too fast); the others are the same burst, refused together.
        It never exceeds the longest wait the server asked for since pacing began.
        """
        self.pauses += 1
        seconds = min(max(0.0, seconds), self._max_wait)
        now = self.clock()
        if not self.interval:
            self.interval = seconds * _FIRST_PACE
            self._ceiling = seconds
        elif now >= self._until:
            self.interval *= 2
        self._streak = 0
        self._ceiling = max(self._ceiling, seconds)
        self.interval = min(self.interval, max(self._ceiling, min(_RATE_PACE, self._max_wait)))
        if self.interval < _MIN_INTERVAL:
            self.interval = _MIN_INTERVAL if self._ceiling >= _MIN_INTERVAL else 0.0
        self._until = max(self._until, now + seconds)
        self._notify()

    def succeeded(self) -> None:
        """A request went through: move back towards full speed."""
        if not self.interval:
            return
        self._streak += 1
        if self.interval > _RATE_PACE:
            factor = 0.5 if self._streak >= _SLOW_STREAK else _SPEED_UP
            self.interval = min(
                self.interval * factor, self.interval / (1 + _RATE_STEP * self.interval)
            )
        else:
            self.interval *= _SPEED_UP
        if self.interval < _MIN_INTERVAL:
            # Pacing ends only after a run of successes: switched off at once, a busy
            # loop's stalls (which space requests out by themselves) would let the
            # next burst stampede with nothing learnt from the last one.
            self.interval = 0.0 if self._streak >= _OFF_STREAK else _MIN_INTERVAL
        self._notify()

    def next_start(self) -> float:
        """The clock time at which the next request may start."""
        start = self._until
        if self.interval:
            start = max(start, self._last_start + self.interval)
        return start

    def remaining(self) -> float:
        """Seconds until the gate opens (0 when open)."""
        return max(0.0, self._until - self.clock())

    # --- waiting (the event loop) ----------------------------------------------------

    async def wait(self, deadline: float = float("inf")) -> bool:
        """Wait for this request's turn; False, at once or at ``deadline`` at the
        latest, if the turn cannot come by ``deadline`` (a time on the gate's clock).

        Requests leave in the order they called `wait`.
        """
        now = self.clock()
        if not self._queue and self.next_start() <= now:
            self._last_start = now
            return True
        ticket = object()
        self._queue.append(ticket)
        try:
            while True:
                now = self.clock()
                start = self.next_start()
                if self._until > deadline or (self._queue[0] is ticket and start > deadline):
                    return False  # the server's wait alone outlasts the budget
                if self._queue[0] is ticket:
                    if start <= now:
                        self._last_start = now
                        return True
                    pauses = self.pauses
                    if not await self._sleep_or_change(start - now) and self.pauses == pauses:
                        # Slept the whole way and no new 429 came: the turn is here. (The
                        # pace counts from when the request really leaves, never earlier.)
                        self._last_start = max(start, self.clock())
                        return True
                elif not await self._change(deadline - now):
                    return False
        finally:
            head = self._queue[0] is ticket
            self._queue.remove(ticket)
            if head:
                self._notify()

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _change(self, timeout: float) -> bool:
        """Wait (real time) for the gate's state to change; False on timeout."""
        if timeout <= 0:
            return False
        # Not asyncio.wait_for: on Python 3.10 and 3.11 it can swallow a cancellation
        # that races its timeout (CPython gh-86296).
        changed = asyncio.ensure_future(self._event().wait())
        try:
            done, _ = await asyncio.wait({changed}, timeout=timeout)
        finally:
            changed.cancel()
            await asyncio.gather(changed, return_exceptions=True)
        return bool(done)

    async def _sleep_or_change(self, seconds: float) -> bool:
        """Sleep ``seconds`` through `sleep`, or less if the state changes; True if it did."""
        changed = asyncio.ensure_future(self._event().wait())
        slept = asyncio.ensure_future(sleep(seconds))
        try:
            done, _ = await asyncio.wait({changed, slept}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (changed, slept):
                task.cancel()
            await asyncio.gather(changed, slept, return_exceptions=True)
        return slept not in done
