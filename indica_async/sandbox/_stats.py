"""What the sandbox saw: counters that tests read to check a client's behaviour."""

from __future__ import annotations

from collections import Counter
from datetime import date

import attrs

__all__ = ["ListRequest", "SandboxStats"]


@attrs.frozen
class ListRequest:
    """One list request the sandbox answered with customers."""

    start_date: date
    end_date: date
    limit: int
    """The ``limit`` the client asked for (the query's, or the default)."""
    returned: int
    """How many customers the response held."""


@attrs.define
class SandboxStats:
    """Counters of one sandbox, updated as requests arrive; ``reset()`` zeroes them."""

    requests: int = 0
    """Every request received, whatever its path or outcome."""
    by_endpoint: Counter[str] = attrs.Factory(Counter)
    """Requests per endpoint: ``"get"``, ``"state"`` and ``"list"``."""
    statuses: Counter[int] = attrs.Factory(Counter)
    """Responses sent, per status (dropped connections are not responses)."""
    faults: Counter[str] = attrs.Factory(Counter)
    """Faults injected, per ``FaultKind``."""
    throttled: int = 0
    """429 responses sent, from the rate limiter or from ``429_*`` faults."""
    rate_limited: int = 0
    """429 responses sent by the rate limiter alone."""
    in_flight: int = 0
    """Requests received and not yet fully answered."""
    max_in_flight: int = 0
    """The most requests in flight at once since the last reset."""
    list_requests: list[ListRequest] = attrs.Factory(list)
    """List requests answered with customers, in order (a ``truncate`` fault may still
    have cut the body short)."""

    def reset(self) -> None:
        """Zero every counter; requests now in flight still count as in flight."""
        self.requests = 0
        self.by_endpoint = Counter()
        self.statuses = Counter()
        self.faults = Counter()
        self.throttled = 0
        self.rate_limited = 0
        self.max_in_flight = self.in_flight
        self.list_requests = []
