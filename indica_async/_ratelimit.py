"""The rate-limit gate one client shares across all its requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def sleep(seconds: float) -> None:
    """Every wait of the SDK (backoff and gate) goes through here, so tests can observe it."""
    await asyncio.sleep(seconds)


class RateLimitGate:
    """After a 429, every request of the client waits until the server's pause is over.

    Without it, each concurrent task would discover the limit on its own and keep
    hammering the server; with it, one 429 quiets the whole client.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0
        #: How many times the gate was closed (one per 429 seen).
        self.pauses = 0

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (an earlier pause is never shortened)."""
        self.pauses += 1
        self._until = max(self._until, self._clock() + max(0.0, seconds))

    def remaining(self) -> float:
        """Seconds until requests may go again (0 when open)."""
        return max(0.0, self._until - self._clock())

    async def wait(self) -> None:
        """Return once the gate is open; a pause extended meanwhile is honoured too."""
        while True:
            until = self._until
            delay = until - self._clock()
            if delay <= 0:
                return
            await sleep(delay)
            if self._until == until:
                return
