"""Pure planning of the date windows that a complete export walks. No I/O here.

The list endpoint has no cursor, only a date range and a ``limit``. A response that
holds ``limit`` records may be truncated, so the planner:

- cuts the range into disjoint, inclusive windows, sized from the density of
  customers per day seen so far so that a window is expected to fill most of a page;
- splits a full window into halves, fetched with the larger ``max_limit`` (a full
  window usually holds a burst), and retries a full single day at ``max_limit``
  before it gives up with `WindowOverflowError`;
- watches for a server that caps ``limit`` below what was asked: once the first
  window is back it asks the whole range once at the limit (the early probe), whose
  full answer shows that no short page can be capped; until then, or if that answer
  is short too, a window that comes back short but as large as anything seen so far
  is fetched again as two halves, and if the halves hold more, the whole window is
  asked for once more: only if it comes back short at the same count again is that
  count the server's cap. One odd answer from a server that is honest afterwards
  never sets a cap (nor, from it, a false `WindowOverflowError`).

Counts are of distinct customer ids where the caller passes the ids: a server that
repeats a customer inside a page, or across the halves of a check, must not look as
if it held more than it does.

The caller (`resources.customers`) asks `next_request` for work, performs it, and
reports the records with `record`, which says whether the window is done.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import statistics
from collections import deque
from collections.abc import Collection, Iterator

import attrs

from ._errors import InvalidArgumentError, WindowOverflowError

__all__ = ["Verdict", "Window", "WindowPlanner", "WindowRequest", "plan_days"]

_ONE_DAY = dt.timedelta(days=1)

#: Standard deviations of headroom when sizing a window (counts are roughly Poisson).
_HEADROOM_SIGMAS = 2.0
#: A sized window grows at most this factor over the previous one.
_MAX_GROWTH = 4
#: How many recent windows the density estimate looks at.
_DENSITY_SAMPLES = 9
#: Days of the first window when nothing is known yet and no size was asked for.
DEFAULT_INITIAL_DAYS = 1


@attrs.frozen(order=True)
class Window:
    """An inclusive range of days, ``first`` to ``last``."""

    first: dt.date
    last: dt.date

    def __attrs_post_init__(self) -> None:
        for name, day in (("first", self.first), ("last", self.last)):
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                raise InvalidArgumentError(
                    f"a window's {name} day must be a datetime.date, got {type(day).__name__}"
                )
        if self.last < self.first:
            raise InvalidArgumentError("a window's last day may not come before its first")

    @property
    def days(self) -> int:
        """How many days the window covers."""
        return (self.last - self.first).days + 1

    def split(self) -> tuple[Window, Window]:
        """Two disjoint halves that together cover this window (needs two days or more)."""
        if self.days < 2:
            raise InvalidArgumentError("a single day cannot be split")
        mid = self.first + dt.timedelta(days=(self.days - 1) // 2)
        return Window(self.first, mid), Window(mid + _ONE_DAY, self.last)

    def iter_days(self) -> Iterator[dt.date]:
        """Every day of the window, in order."""
        day = self.first
        while day <= self.last:
            yield day
            day += _ONE_DAY

    def __str__(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


@attrs.frozen
class WindowRequest:
    """One list request to make: a window and the ``limit`` to ask for."""

    window: Window
    limit: int
    #: Set when this request is half of a check for a server-side cap.
    check: int | None = None
    #: Set for the final check of unverified days (its records are not used).
    probe: bool = False
    #: Set for the early check against a cap: the whole range at the limit, sent beside
    #: the windows (its records are not used either).
    early_probe: bool = False
    #: Set when this request asks a whole window again to confirm a cap of this count.
    confirm: int | None = None


class Verdict(enum.Enum):
    """What `WindowPlanner.record` decided about a response."""

    #: The window is complete: its records are every customer created in it.
    COMPLETE = "complete"
    #: The response may be truncated; its records are dropped and the window fetched
    #: again in pieces (already queued by the planner).
    REFETCH = "refetch"
    #: The response only served a check (a final probe, or a whole window asked again
    #: to confirm a cap); its records are dropped.
    CHECKED = "checked"


def plan_days(density: float, limit: int) -> int:
    """Days per window so that the expected count, plus headroom, fits in ``limit``.

    With ``x = sqrt(days * density)``, solve ``x**2 + k*x <= limit`` for the largest x.
    """
    if density <= 0:
        raise ValueError("density must be positive")
    x = (-_HEADROOM_SIGMAS + math.sqrt(_HEADROOM_SIGMAS**2 + 4 * limit)) / 2
    return max(1, math.floor(x * x / density))


@attrs.define
class _CapCheck:
    window: Window
    asked: int
    short_count: int
    pending: int = 2
    total: int = 0
    #: The ids both halves returned, when the caller passes them: a customer repeated
    #: across the halves counts once.
    ids: set[int] = attrs.field(factory=set)


@attrs.define
class WindowPlanner:
    """Hands out list requests that cover ``[start, end]`` exactly once, losslessly."""

    start: dt.date
    end: dt.date
    limit: int
    max_limit: int
    initial_days: int | None = None
    detect_cap: bool = True

    #: The server's cap on ``limit``, once detected.
    cap: int | None = attrs.field(default=None, init=False)
    splits: int = attrs.field(default=0, init=False)
    escalations: int = attrs.field(default=0, init=False)
    cap_checks: int = attrs.field(default=0, init=False)
    days_done: int = attrs.field(default=0, init=False)

    _cursor: dt.date = attrs.field(init=False)
    _queue: deque[WindowRequest] = attrs.field(init=False, factory=deque)
    _outstanding: int = attrs.field(default=0, init=False)
    _samples: deque[tuple[int, int]] = attrs.field(
        init=False, factory=lambda: deque(maxlen=_DENSITY_SAMPLES)
    )
    _last_days: int = attrs.field(default=0, init=False)
    _largest_count: int = attrs.field(default=0, init=False)
    _checks: dict[int, _CapCheck] = attrs.field(init=False, factory=dict)
    _suspects: dict[dt.date, int] = attrs.field(init=False, factory=dict)
    _full_floor: float = attrs.field(default=0.0, init=False)
    _customers_seen: int = attrs.field(default=0, init=False)
    _probes_sent: int = attrs.field(default=0, init=False)
    _cap_confirmed: bool = attrs.field(default=False, init=False)
    #: Single days full at a cap not yet confirmed: fetched again if it is refuted.
    _held: list[WindowRequest] = attrs.field(init=False, factory=list)
    _probe_settled: bool = attrs.field(default=False, init=False)
    _early_probe_sent: bool = attrs.field(default=False, init=False)
    _next_check_id: int = attrs.field(default=1, init=False)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidArgumentError("end_date comes before start_date")
        if self.limit < 1:
            raise InvalidArgumentError("limit must be at least 1")
        if self.initial_days is not None and self.initial_days < 1:
            raise InvalidArgumentError("initial_days must be at least 1")
        self.max_limit = max(self.max_limit, self.limit)
        self._cursor = self.start

    # --- state ----------------------------------------------------------------

    @property
    def total_days(self) -> int:
        """Days in the whole range."""
        return (self.end - self.start).days + 1

    @property
    def done(self) -> bool:
        """True when every day is covered and no request (or final check) is outstanding."""
        return self._covered() and not self._probe_due()

    def _covered(self) -> bool:
        return self._cursor > self.end and not self._queue and self._outstanding == 0

    def _probe_due(self) -> bool:
        # A second probe only if the first said "capped": one odd answer is not enough.
        return not self._probe_settled and self._probes_sent < 2 and bool(self.unverified_days)

    @property
    def effective_limit(self) -> int:
        """The limit used for new windows: the asked one, or the server's cap if lower."""
        return self.limit if self.cap is None else min(self.limit, self.cap)

    def density(self) -> float | None:
        """Customers per day in recent complete windows, or ``None`` before any is known.

        The median of the windows' densities: one burst day must not shrink every
        window after it. Before any window is complete, a guess from the full ones.
        """
        if self._samples:
            return statistics.median(count / days for count, days in self._samples)
        if self._full_floor:
            # Only full windows so far: their density is at least count/days. Guessing
            # twice that lets the walk start its concurrent windows a round trip sooner.
            return 2 * self._full_floor
        return None

    # --- handing out work -----------------------------------------------------

    def next_request(self, *, new_windows: bool = True) -> WindowRequest | None:
        """The next request to make, or ``None`` if there is none to make right now.

        Re-fetches (splits, escalations, cap checks) come first: they are the oldest
        days. New windows (only if ``new_windows``) are sized from the density seen so
        far; while nothing is known, or only empty windows were seen, one window at a
        time is in flight.
        """
        if self._queue:
            self._outstanding += 1
            return self._queue.popleft()
        if self._covered() and self._probe_due():
            return self._final_probe()
        if self._early_probe_due():
            return self._early_probe()
        if not new_windows or self._cursor > self.end:
            return None
        density = self.density()
        if (density is None or density == 0) and self._outstanding:
            return None
        days = self._size_next(density)
        last = min(self.end, self._cursor + dt.timedelta(days=days - 1))
        window = Window(self._cursor, last)
        self._cursor = last + _ONE_DAY
        self._last_days = window.days
        self._outstanding += 1
        return WindowRequest(window, self.effective_limit)

    def _size_next(self, density: float | None) -> int:
        if density is None:
            return self.initial_days or min(DEFAULT_INITIAL_DAYS, self.total_days)
        if density == 0:
            # Nothing seen yet: widen the window like TCP slow start.
            return max(1, self._last_days) * 2
        days = plan_days(density, self.effective_limit)
        if self._last_days:
            days = min(days, self._last_days * _MAX_GROWTH)
        return days

    # --- reading results ------------------------------------------------------

    def record(
        self, request: WindowRequest, count: int, *, ids: Collection[int] | None = None
    ) -> Verdict:
        """Record that ``request`` returned ``count`` records, and decide what follows.

        ``ids``, if given, are the records' customer ids: repeats among them are not
        counted as customers (a full page is still full, since the server stopped there).
        Raises `WindowOverflowError` if a single day is full at the largest limit.
        """
        self._outstanding -= 1
        window, asked = request.window, request.limit
        unique = count if ids is None else len(set(ids))
        if request.probe:
            return self._record_probe(asked - 1, unique)
        if request.early_probe:
            # Whatever came back, the server returns that many: every day short of it
            # is settled. If that leaves days unverified, the final probe still runs.
            self._largest_count = max(self._largest_count, unique)
            return Verdict.CHECKED
        if request.check is not None:
            self._record_check(request.check, unique, ids)
        if request.confirm is not None:
            # Only a question about the cap: the check's halves already covered the window.
            # Judged on distinct customers, as the cap was set from them.
            self._record_confirm(request, unique)
            return Verdict.CHECKED
        if count >= self._full_at(asked):
            return self._refetch_full(request, count, unique)
        suspect = self._is_suspect(asked, unique)
        self._largest_count = max(self._largest_count, unique)
        if suspect and window.days > 1:
            return self._queue_cap_check(window, asked, unique)
        if suspect:
            # A day cannot be split to check it: it stays a suspect until a larger
            # response proves the cap is above its count.
            self._suspects[window.first] = unique
        self._samples.append((unique, window.days))
        self.days_done += window.days
        self._customers_seen += unique
        return Verdict.COMPLETE

    @property
    def unverified_days(self) -> dict[dt.date, int]:
        """Single days that came back short yet as large as any response, with no cap seen.

        If the server caps ``limit`` at exactly that count, such a day may hold more;
        from one day alone the API cannot tell. Days proven below the cap are left out.
        """
        if self.cap is not None:
            return {}
        return {d: n for d, n in self._suspects.items() if n >= self._largest_count}

    def _early_probe_due(self) -> bool:
        if (
            self._early_probe_sent
            or self._probes_sent
            or self._probe_settled
            or not self.detect_cap
            or self.cap is not None
        ):
            return False
        if self._cursor > self.end:
            return bool(self.unverified_days)
        # Under way (a window is back): one answer of a full page settles every short
        # page to come, where each new largest count would otherwise be checked by
        # fetching its window again in halves.
        return bool(self._samples)

    def _early_probe(self) -> WindowRequest:
        # Ask the whole range, beside the windows, for as many records as a window may
        # hold: an honest server returns that many (or the whole range), more than any
        # short page holds, and no cap check nor final probe is needed. One odd answer
        # only settles less: a cap is still set by checks alone.
        self._early_probe_sent = True
        self._outstanding += 1
        return WindowRequest(Window(self.start, self.end), self.effective_limit, early_probe=True)

    def _final_probe(self) -> WindowRequest:
        # One request settles every unverified day: ask the whole range for one more
        # than the largest of their counts. More comes back: no cap at that count.
        self._probes_sent += 1
        self._outstanding += 1
        largest = max(self.unverified_days.values())
        return WindowRequest(Window(self.start, self.end), largest + 1, probe=True)

    def _record_probe(self, largest: int, count: int) -> Verdict:
        self._largest_count = max(self._largest_count, count)
        if count <= largest and count < self._customers_seen:
            # The range holds more than came back, at a limit above the count: the
            # server caps there, and the days that returned that many may hold more.
            # Asked twice before that is believed (see _probe_due).
            if self._probes_sent < 2:
                return Verdict.CHECKED
            self.cap = count
            # The earliest of the days that returned the most, whatever order the
            # responses came in (as `_record_confirm` names the earliest overflow).
            day, suspect = min(self._suspects.items(), key=lambda item: (-item[1], item[0]))
            raise self._overflow(day, suspect)
        self._probe_settled = True
        return Verdict.CHECKED

    def _overflow(self, day: dt.date, count: int) -> WindowOverflowError:
        return WindowOverflowError(day, count, self.max_limit, server_cap=self.cap)

    def _full_at(self, asked: int) -> int:
        return asked if self.cap is None else min(asked, self.cap)

    def _refetch_full(self, request: WindowRequest, count: int, unique: int) -> Verdict:
        window, asked = request.window, request.limit
        # Distinct customers, like every count it is compared with: a page full of
        # repeats must not make a later short page look below the cap.
        self._largest_count = max(self._largest_count, unique)
        self._full_floor = max(self._full_floor, count / window.days)
        larger = self._full_at(self.max_limit)
        if window.days > 1:
            # The halves may use the larger limit: a full window is usually a burst,
            # and asking more of the half that holds it saves another split.
            self.splits += 1
            limit = max(asked, larger)
            first, second = window.split()
            self._queue.extendleft(
                reversed([WindowRequest(first, limit), WindowRequest(second, limit)])
            )
            return Verdict.REFETCH
        if larger > asked:
            self.escalations += 1
            self._queue.appendleft(WindowRequest(window, larger))
            return Verdict.REFETCH
        if self.cap is not None and not self._cap_confirmed:
            # Full only at a cap still being confirmed: wait for the verdict on the cap
            # (its request is queued or in flight) rather than fail on one odd answer.
            self._held.append(request)
            self._outstanding += 1
            return Verdict.REFETCH
        raise self._overflow(window.first, count)

    def _is_suspect(self, asked: int, count: int) -> bool:
        # A count below the largest seen is below any cap (the server returned more
        # once), so only a short response that ties or beats it may be cut short.
        return (
            self.detect_cap
            and self.cap is None
            and 0 < count < asked
            and count >= self._largest_count
        )

    def _queue_cap_check(self, window: Window, asked: int, count: int) -> Verdict:
        # Even a tie with a count checked before is checked again: the cap may equal,
        # by chance, the exact size of the window checked then.
        self.cap_checks += 1
        check_id = self._next_check_id
        self._next_check_id += 1
        self._checks[check_id] = _CapCheck(window, asked, short_count=count)
        first, second = window.split()
        # If the halves, asked for as much as the whole, return more in total, the
        # server cut the whole short: its count may be the server's cap.
        self._queue.extendleft(
            reversed(
                [WindowRequest(first, asked, check_id), WindowRequest(second, asked, check_id)]
            )
        )
        return Verdict.REFETCH

    def _record_check(self, check_id: int, count: int, ids: Collection[int] | None) -> None:
        check = self._checks.get(check_id)
        if check is None:
            return
        check.pending -= 1
        check.total += count
        if ids is not None:
            check.ids.update(ids)
        if check.pending:
            return
        del self._checks[check_id]
        total = len(check.ids) if check.ids else check.total
        if total > check.short_count and self.cap is None:
            # The short count is the server's cap until the whole window, asked once
            # more, says otherwise: a cap shows the same short count again, a server that
            # answered oddly once (and honestly since) does not. Till then the cap only
            # makes the walk split more, which loses nothing.
            self.cap = check.short_count
            self._queue.appendleft(
                WindowRequest(check.window, check.asked, confirm=check.short_count)
            )

    def _record_confirm(self, request: WindowRequest, count: int) -> None:
        if self.cap != request.confirm or self._cap_confirmed:
            return
        held, self._held = self._held, []
        self._outstanding -= len(held)
        if count == self.cap and count < request.limit:
            self._cap_confirmed = True
            overflows = [(r.window.first, self.cap) for r in held] + [
                (day, n) for day, n in self._suspects.items() if n >= self.cap
            ]
            if overflows:
                raise self._overflow(*min(overflows))
            return
        self.cap = None
        # Refuted: the days held at the false cap are asked again at the largest limit.
        self._queue.extendleft(
            reversed([WindowRequest(r.window, self._full_at(self.max_limit)) for r in held])
        )
