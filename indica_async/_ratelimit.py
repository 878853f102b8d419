"""The rate-limit gate one client shares across all its requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: After a 429, each success shortens the pacing interval by this factor.
_SPEED_UP = 0.9
#: The first 429 sets the pace to this share of the server's wait: Retry-After says
#: when one request may go again, not how far apart all of them must be.
_FIRST_PACE = 1 / 8
#: Below this interval (seconds), pacing is switched off again.
_MIN_INTERVAL = 0.001
#: The pace never drops below one request per this many seconds.
_MAX_INTERVAL = 60.0


async def sleep(seconds: float) -> None:
    """Every wait of the SDK (backoff and gate) goes through here, so tests can observe it."""
    await asyncio.sleep(seconds)


class RateLimitGate:
    """Paces every request of one client after the server rate-limits it.

    A 429 closes the gate for the server's ``Retry-After``: every request of the client
    waits, not only the one that was refused. When it opens, requests do not rush out
    together; they start at least ``interval`` apart. The interval doubles with each
    429 that still comes and shrinks a little with every success (AIMD, as in TCP), so
    the client settles near the rate the server allows and recovers full speed after a
    lone 429.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0
        self._next_start = 0.0
        self.interval = 0.0
        #: How many times the gate was closed (one per 429 seen).
        self.pauses = 0

    def pause(self, seconds: float) -> None:
        """Close the gate for ``seconds`` (never shortening a pause) and slow the pace.

        The pace doubles only for a 429 that arrives after the previous pause ended
        (the pace was still too fast); the others are the same burst, refused together.
        """
        self.pauses += 1
        seconds = max(0.0, seconds)
        now = self._clock()
        if not self.interval:
            self.interval = max(_MIN_INTERVAL, seconds * _FIRST_PACE)
        elif now >= self._until:
            self.interval = min(_MAX_INTERVAL, 2 * self.interval)
        self._until = max(self._until, now + seconds)
        # The pace starts again when the gate opens; turns handed out before are void.
        self._next_start = self._until

    def succeeded(self) -> None:
        """A request went through: creep back towards full speed."""
        if self.interval:
            self.interval *= _SPEED_UP
            if self.interval < _MIN_INTERVAL:
                self.interval = 0.0

    def remaining(self) -> float:
        """Seconds until the gate opens (0 when open)."""
        return max(0.0, self._until - self._clock())

    async def wait(self) -> None:
        """Wait for the gate to open and for this request's turn in the pace."""
        while True:
            now = self._clock()
            start = max(now, self._until)
            if self.interval:
                start = max(start, self._next_start)
                self._next_start = start + self.interval
            if start <= now:
                return
            until = self._until
            await sleep(start - now)
            if self._until <= until:
                return
