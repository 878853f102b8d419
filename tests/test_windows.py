"""The pure window planner, driven by a simulated server: no event loop, no network."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indica_async import InvalidArgumentError, WindowOverflowError
from indica_async._windows import Verdict, Window, WindowPlanner, WindowRequest, plan_days

D0 = dt.date(2024, 1, 1)
lost_windows: list[Window] = []


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def simulate(
    counts: dict[dt.date, int],
    planner: WindowPlanner,
    *,
    cap: int | None = None,
    batch: int = 1,
    rng: random.Random | None = None,
    allow_loss: bool = False,
) -> tuple[list[Window], int]:
    """Drive the planner like the walk does, against per-day ground truth.

    ``batch`` requests are handed out before results come back, in a shuffled order,
    as concurrent requests would. Returns the completed windows and the request count.
    A window accepted as complete must hold all its customers unless ``allow_loss``,
    where the lossy windows are returned for the caller to judge.
    """
    rng = rng or random.Random(0)
    complete: list[Window] = []
    requests = 0
    while not planner.done:
        batch_requests: list[WindowRequest] = []
        while len(batch_requests) < batch and (request := planner.next_request()) is not None:
            batch_requests.append(request)
        assert batch_requests, "planner stalled"
        rng.shuffle(batch_requests)
        for request in batch_requests:
            requests += 1
            true = sum(counts.get(d, 0) for d in request.window.iter_days())
            served = min(true, request.limit if cap is None else min(request.limit, cap))
            if planner.record(request, served) is Verdict.COMPLETE:
                if served != true:
                    assert allow_loss, f"{request.window} lost {true - served} customers"
                    lost_windows.append(request.window)
                complete.append(request.window)
    return complete, requests


def assert_exact_cover(windows: list[Window], start: dt.date, end: dt.date) -> None:
    covered = Counter(d for w in windows for d in w.iter_days())
    expected = Counter(Window(start, end).iter_days())
    assert covered == expected


# --- Window ----------------------------------------------------------------------


def test_window_split_halves_are_disjoint_and_cover() -> None:
    for days in range(2, 40):
        w = Window(D0, day(days - 1))
        a, b = w.split()
        assert a.first == w.first and b.last == w.last
        assert a.last + dt.timedelta(days=1) == b.first
        assert a.days + b.days == days
        assert abs(a.days - b.days) <= 1


def test_single_day_cannot_split_and_window_order_is_checked() -> None:
    with pytest.raises(ValueError, match="single day"):
        Window(D0, D0).split()
    with pytest.raises(ValueError, match="before its first"):
        Window(day(1), D0)
    assert str(Window(D0, D0)) == "2024-01-01"
    assert str(Window(D0, day(6))) == "2024-01-01..2024-01-07"


def test_plan_days_leaves_headroom() -> None:
    # 100/day at limit 500: 4 days (400 expected + 3 sigma = 460) fits, 5 would not.
    assert plan_days(100.0, 500) == 4
    assert plan_days(10_000.0, 500) == 1
    assert plan_days(0.01, 500) > 10_000
    with pytest.raises(ValueError, match="positive"):
        plan_days(0.0, 500)


# --- planner ---------------------------------------------------------------------


def test_planner_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidArgumentError):
        WindowPlanner(day(1), D0, limit=10, max_limit=10)
    with pytest.raises(InvalidArgumentError):
        WindowPlanner(D0, D0, limit=0, max_limit=10)
    with pytest.raises(InvalidArgumentError):
        WindowPlanner(D0, D0, limit=1, max_limit=10, initial_days=0)


def test_first_request_waits_alone_until_density_is_known() -> None:
    planner = WindowPlanner(D0, day(99), limit=100, max_limit=200)
    first = planner.next_request()
    assert first is not None and first.window == Window(D0, D0)
    assert planner.next_request() is None  # nothing known yet: one probe in flight
    assert planner.record(first, 35) is Verdict.COMPLETE
    assert planner.density() == 35
    # Under way: the early probe first (the whole range at the limit, against a cap)...
    probe = planner.next_request()
    assert probe == WindowRequest(Window(D0, day(99)), 100, early_probe=True)
    # ...then, at 35/day and limit 100, two-day windows (70 expected, 87 with headroom),
    # several at once.
    windows = [planner.next_request() for _ in range(3)]
    assert [w.window.days for w in windows if w] == [2, 2, 2]


def test_a_full_probe_gives_a_density_guess_at_once() -> None:
    planner = WindowPlanner(D0, day(99), limit=100, max_limit=200, initial_days=10)
    probe = planner.next_request()
    assert probe is not None
    assert planner.record(probe, 100) is Verdict.REFETCH
    assert planner.density() == 20  # at least 10/day: guess twice that
    halves = [planner.next_request(), planner.next_request()]
    assert all(h is not None and h.window.days == 5 for h in halves)
    assert planner.next_request() is not None  # new windows go out beside the halves


def test_full_window_splits_into_halves_at_the_larger_limit() -> None:
    planner = WindowPlanner(D0, day(3), limit=10, max_limit=30, initial_days=4, detect_cap=False)
    request = planner.next_request()
    assert request == WindowRequest(Window(D0, day(3)), 10)
    assert planner.record(request, 10) is Verdict.REFETCH
    assert planner.splits == 1
    assert planner.next_request() == WindowRequest(Window(D0, day(1)), 30)
    assert planner.next_request() == WindowRequest(Window(day(2), day(3)), 30)


def test_full_day_escalates_then_overflows_naming_the_day() -> None:
    planner = WindowPlanner(D0, D0, limit=10, max_limit=30, detect_cap=False)
    request = planner.next_request()
    assert request == WindowRequest(Window(D0, D0), 10)
    assert planner.record(request, 10) is Verdict.REFETCH
    escalated = planner.next_request()
    assert escalated == WindowRequest(Window(D0, D0), 30)
    assert planner.escalations == 1
    with pytest.raises(WindowOverflowError) as info:
        planner.record(escalated, 30)
    assert info.value.day == D0 and info.value.count == 30
    assert "2024-01-01" in str(info.value) and "30" in str(info.value)


def test_detects_a_server_cap_and_uses_it_as_the_limit() -> None:
    counts = {day(i): 40 for i in range(60)}
    planner = WindowPlanner(D0, day(59), limit=500, max_limit=1000)
    windows, _ = simulate(counts, planner, cap=100)
    assert planner.cap == 100
    assert planner.effective_limit == 100
    assert_exact_cover(windows, D0, day(59))


def test_a_lone_short_day_as_large_as_anything_seen_is_reported_unverified() -> None:
    planner = WindowPlanner(D0, D0, limit=500, max_limit=1000)
    request = planner.next_request()
    assert request is not None
    assert planner.record(request, 100) is Verdict.COMPLETE
    assert planner.unverified_days == {D0: 100}


def test_a_short_day_below_a_larger_response_is_trusted() -> None:
    planner = WindowPlanner(D0, day(1), limit=500, max_limit=1000, initial_days=1)
    first = planner.next_request()
    assert first is not None
    planner.record(first, 100)
    probe, second = planner.next_request(), planner.next_request()
    assert probe is not None and probe.early_probe
    assert second is not None
    planner.record(second, 200)
    assert planner.unverified_days == {day(1): 200}
    assert D0 not in planner.unverified_days
    # The probe's answer, the whole range (300), settles the day of 200 too.
    assert planner.record(probe, 300) is Verdict.CHECKED
    assert planner.unverified_days == {}


def test_a_full_day_at_the_server_cap_is_an_overflow_not_a_loss() -> None:
    counts = {day(i): 10 for i in range(30)} | {day(20): 150}
    planner = WindowPlanner(D0, day(29), limit=500, max_limit=1000)
    with pytest.raises(WindowOverflowError) as info:
        simulate(counts, planner, cap=100)
    assert info.value.day == day(20)


def test_empty_range_widens_windows_like_slow_start() -> None:
    planner = WindowPlanner(D0, day(999), limit=100, max_limit=100)
    windows, requests = simulate({}, planner)
    assert_exact_cover(windows, D0, day(999))
    assert requests <= math.ceil(math.log2(1000)) + 2


def test_sizes_windows_from_density() -> None:
    # Realistic counts vary from day to day. (Perfectly constant counts make every
    # window tie the largest response, and each tie is checked for a server cap.)
    rng = random.Random(3)
    counts = {day(i): rng.randint(35, 65) for i in range(365)}
    planner = WindowPlanner(D0, day(364), limit=500, max_limit=1000)
    windows, requests = simulate(counts, planner)
    assert_exact_cover(windows, D0, day(364))
    ideal = math.ceil(sum(counts.values()) / 500)
    assert requests <= 1.5 * ideal, (requests, ideal)
    # Settled windows hold most of a page: 8 or 9 days of 50 at limit 500.
    assert Counter(w.days for w in windows).most_common(1)[0][0] in (8, 9)


def test_bursty_data_stays_close_to_the_ideal_request_count() -> None:
    rng = random.Random(7)
    counts = {}
    for i in range(3 * 365):
        counts[day(i)] = rng.randint(20, 60)
    for i in rng.sample(range(3 * 365), 25):
        counts[day(i)] = rng.randint(400, 900)
    planner = WindowPlanner(D0, day(3 * 365 - 1), limit=500, max_limit=1000)
    windows, requests = simulate(counts, planner, batch=8, rng=rng)
    assert_exact_cover(windows, D0, day(3 * 365 - 1))
    ideal = math.ceil(sum(counts.values()) / 500)
    assert requests <= 1.6 * ideal, (requests, ideal)


daily = st.dictionaries(
    st.integers(0, 120).map(day),
    st.one_of(st.integers(0, 5), st.integers(0, 60), st.integers(100, 400)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    counts=daily,
    span=st.integers(1, 121),
    limit=st.integers(1, 120),
    extra=st.integers(0, 300),
    cap=st.one_of(st.none(), st.integers(1, 150)),
    batch=st.integers(1, 8),
    initial=st.one_of(st.none(), st.integers(1, 30)),
    seed=st.integers(0, 2**16),
)
def test_planner_is_lossless_or_names_the_overflowing_day(
    counts: dict[dt.date, int],
    span: int,
    limit: int,
    extra: int,
    cap: int | None,
    batch: int,
    initial: int | None,
    seed: int,
) -> None:
    end = day(span - 1)
    counts = {d: n for d, n in counts.items() if d <= end}
    max_limit = limit + extra
    planner = WindowPlanner(D0, end, limit=limit, max_limit=max_limit, initial_days=initial)
    ceiling = max_limit if cap is None else min(max_limit, cap)
    lost_windows.clear()
    try:
        windows, _ = simulate(
            counts, planner, cap=cap, batch=batch, rng=random.Random(seed), allow_loss=True
        )
    except WindowOverflowError as exc:
        # Only a day that really holds at least what the server will return overflows.
        assert counts.get(exc.day, 0) >= exc.count >= ceiling or (
            cap is not None and counts.get(exc.day, 0) >= exc.count >= cap
        )
        return
    assert_exact_cover(windows, D0, end)
    # Without a cap nothing may be lost; with one, only single days the planner reports
    # as unverifiable (short, and as large as anything the server ever returned).
    if cap is None:
        assert lost_windows == []
    for lost in lost_windows:
        assert lost.days == 1
        assert lost.first in planner.unverified_days


def test_a_capped_day_is_caught_even_after_a_check_of_its_count() -> None:
    # Found by Hypothesis: a two-day window held exactly 33 (checked genuine), then a
    # 34-customer day came back capped at 33. The final probe asks the whole range for
    # 34, gets 33 of the 67 seen: the server caps at 33, and that day is named.
    counts = {D0: 28, day(1): 5, day(2): 34}
    planner = WindowPlanner(D0, day(2), limit=1, max_limit=34, initial_days=2)
    with pytest.raises(WindowOverflowError) as info:
        simulate(counts, planner, cap=33, allow_loss=True)
    assert info.value.day == day(2)
    assert planner.cap == 33


@pytest.mark.parametrize("batch", [1, 4])
def test_one_early_probe_clears_days_that_only_looked_capped(batch: int) -> None:
    # Dense days walked one at a time: each new largest count, short of the limit, looks
    # as if the server might cap there. Once the first window is back, the whole range
    # is asked at the limit beside the windows; an honest server's answer outnumbers
    # every short day, so no day is left unverified and no final probe is needed.
    rng = random.Random(5)
    counts = {day(i): rng.randint(20, 45) for i in range(30)}
    planner = WindowPlanner(D0, day(29), limit=50, max_limit=100)
    windows, requests = simulate(counts, planner, batch=batch)
    assert_exact_cover(windows, D0, day(29))
    assert planner.unverified_days == {}
    assert planner._early_probe_sent and planner._probes_sent == 0
    assert requests == len(windows) + 1


def test_an_early_probe_that_proves_nothing_leaves_the_final_probe_to_decide() -> None:
    # A server that caps at 40 answers the early probe with 40: days of 40 stay
    # unverified, so the final probe still runs, twice, and the capped day is named.
    counts = {day(i): 30 + i for i in range(12)}  # 30 .. 41 a day
    planner = WindowPlanner(D0, day(11), limit=50, max_limit=100, initial_days=1)
    with pytest.raises(WindowOverflowError) as info:
        simulate(counts, planner, batch=4, cap=40, allow_loss=True)
    assert planner._early_probe_sent and planner._probes_sent == 2
    # Days 10 and 11 both returned 40, the cap; the earliest of them is named.
    assert info.value.day == day(10) and planner.cap == 40


# --- servers that lie, and concurrent cap checks ------------------------------------


def drive(
    counts: dict[dt.date, int],
    planner: WindowPlanner,
    *,
    batch: int,
    rng: random.Random,
    lie_at: int | None = None,
) -> tuple[list[Window], list[Window]]:
    """Like `simulate`, with no cap, but the ``lie_at``-th response to a full page holds
    ``limit - 1`` records (once; the server is honest before and after).

    Returns the windows accepted as complete, and those of them short of the truth.
    """
    complete: list[Window] = []
    short: list[Window] = []
    full_answers = 0
    while not planner.done:
        requests: list[WindowRequest] = []
        while len(requests) < batch and (request := planner.next_request()) is not None:
            requests.append(request)
        assert requests, "planner stalled"
        rng.shuffle(requests)
        for request in requests:
            true = sum(counts.get(d, 0) for d in request.window.iter_days())
            served = min(true, request.limit)
            if served == request.limit:
                if full_answers == lie_at:
                    served -= 1
                full_answers += 1
            if planner.record(request, served) is Verdict.COMPLETE:
                complete.append(request.window)
                if served != true:
                    short.append(request.window)
    return complete, short


dense = st.dictionaries(st.integers(0, 40).map(day), st.integers(0, 40), min_size=1)


@settings(max_examples=200, deadline=None)
@given(
    counts=dense,
    limit=st.integers(2, 40),
    extra=st.integers(0, 60),
    batch=st.integers(1, 16),
    lie_at=st.integers(0, 6),
    seed=st.integers(0, 2**16),
)
def test_one_short_answer_never_makes_a_false_overflow(
    counts: dict[dt.date, int], limit: int, extra: int, batch: int, lie_at: int, seed: int
) -> None:
    # Found by a hostile server: one full page answered with limit - 1 records made the
    # planner infer a cap there and fail a later, ordinary day with WindowOverflowError.
    max_limit = limit + extra
    planner = WindowPlanner(D0, day(40), limit=limit, max_limit=max_limit)
    try:
        complete, short = drive(
            counts, planner, batch=batch, rng=random.Random(seed), lie_at=lie_at
        )
    except WindowOverflowError as exc:
        assert counts.get(exc.day, 0) >= max_limit, str(exc)
        assert exc.max_limit == max_limit and exc.server_cap is None
        return
    assert_exact_cover(complete, D0, day(40))
    assert len(short) <= 1  # only the window the server lied about can be short


@settings(max_examples=200, deadline=None)
@given(
    counts=st.dictionaries(st.integers(0, 60).map(day), st.integers(5, 30), min_size=20),
    cap=st.integers(8, 40),
    batch=st.integers(4, 24),
    seed=st.integers(0, 2**16),
)
def test_concurrent_cap_checks_never_mix_their_halves(
    counts: dict[dt.date, int], cap: int, batch: int, seed: int
) -> None:
    # Many windows come back short and tied at once, so many cap checks run at the same
    # time and their halves come back interleaved. A check that counted another's half
    # (ids reused while a check was pending) inferred a cap that was not there, and
    # failed an honest day. A server with no cap, or with one: never a false overflow.
    for server_cap in (None, cap):
        planner = WindowPlanner(D0, day(60), limit=200, max_limit=400, initial_days=2)
        try:
            windows, _ = simulate(
                counts,
                planner,
                cap=server_cap,
                batch=batch,
                rng=random.Random(seed),
                allow_loss=server_cap is not None,
            )
        except WindowOverflowError as exc:
            assert server_cap is not None, str(exc)
            assert counts.get(exc.day, 0) >= exc.count >= server_cap
            continue
        assert_exact_cover(windows, D0, day(60))
        if server_cap is None:
            assert planner.cap is None


def test_repeats_inside_pages_do_not_make_a_false_cap() -> None:
    # Every page repeats its first customer. Counted as records, the halves of a short
    # window (31 + 31) look larger than the whole (61): a cap of 61 that is not there.
    planner = WindowPlanner(D0, day(1), limit=100, max_limit=100, initial_days=2)
    ids = {D0: list(range(30)), day(1): list(range(100, 130))}

    def answer(request: WindowRequest) -> Verdict:
        served = [i for d in request.window.iter_days() for i in ids[d]]
        served = served[:1] + served  # the lie
        return planner.record(request, len(served), ids=served)

    whole = planner.next_request()
    assert whole is not None and whole.window.days == 2
    answer(whole)
    while (request := planner.next_request()) is not None:
        answer(request)
    assert planner.done
    assert planner.cap_checks == 1  # the short whole was checked, and found no cap
    assert planner.cap is None


def test_an_overflow_names_the_callers_max_limit_and_the_servers_cap() -> None:
    planner = WindowPlanner(D0, D0, limit=20, max_limit=50, detect_cap=False)
    first = planner.next_request()
    assert first is not None and planner.record(first, 20) is Verdict.REFETCH
    escalated = planner.next_request()
    assert escalated is not None and escalated.limit == 50
    with pytest.raises(WindowOverflowError) as info:
        planner.record(escalated, 50)
    assert (info.value.max_limit, info.value.server_cap, info.value.count) == (50, None, 50)
    assert "max_limit=50" in str(info.value) and "limit=20" not in str(info.value)
    capped = WindowOverflowError(D0, 33, 1000, server_cap=33)
    assert "caps limit at 33" in str(capped) and "max_limit=1000" in str(capped)


def serve_with_repeats(
    ids: dict[dt.date, list[int]], planner: WindowPlanner, *, cap: int, batch: int = 1
) -> tuple[set[int], int]:
    """Drive the planner against a server that caps ``limit`` at ``cap`` and repeats the
    first customer of every page (the repeat takes a slot of the page).

    Returns the customers of the windows accepted as complete, and the request count.
    """
    got: set[int] = set()
    requests = 0
    while not planner.done:
        batch_requests: list[WindowRequest] = []
        while len(batch_requests) < batch and (request := planner.next_request()) is not None:
            batch_requests.append(request)
        assert batch_requests, "planner stalled"
        for request in batch_requests:
            requests += 1
            true = [i for d in request.window.iter_days() for i in ids.get(d, [])]
            served = (true[:1] + true)[: min(request.limit, cap)]
            if planner.record(request, len(served), ids=served) is Verdict.COMPLETE:
                got.update(served)
    return got, requests


def test_a_cap_hidden_by_repeats_inside_pages_is_still_confirmed() -> None:
    # A server capped at 20 that repeats a customer on every page returns 19 distinct
    # customers in 20 records. The cap was inferred from the distinct count but the
    # confirming request judged on the record count (20 != 19): the cap was refuted,
    # and the walk ended "done" with 365 of 600 customers silently missing.
    ids = {day(d): list(range(d * 100, d * 100 + 10)) for d in range(60)}
    planner = WindowPlanner(D0, day(59), limit=100, max_limit=100)
    got, _ = serve_with_repeats(ids, planner, cap=20)
    assert planner.done
    assert planner.cap is not None
    assert got == {i for day_ids in ids.values() for i in day_ids}


@settings(max_examples=150, deadline=None)
@given(
    counts=st.dictionaries(st.integers(0, 40).map(day), st.integers(0, 30), min_size=1),
    cap=st.integers(3, 40),
    limit=st.integers(2, 80),
    extra=st.integers(0, 80),
    batch=st.integers(1, 8),
)
def test_repeats_inside_pages_never_hide_a_cap(
    counts: dict[dt.date, int], cap: int, limit: int, extra: int, batch: int
) -> None:
    # Whatever the cap and the limits: every customer is found, or the planner names a
    # day it could not finish (an overflow, or a day left unverified).
    ids = {d: [d.toordinal() * 100 + k for k in range(n)] for d, n in counts.items()}
    planner = WindowPlanner(D0, day(40), limit=limit, max_limit=limit + extra)
    try:
        got, _ = serve_with_repeats(ids, planner, cap=cap, batch=batch)
    except WindowOverflowError as exc:
        assert counts.get(exc.day, 0) + 1 >= exc.count
        return
    missing = {d for d, day_ids in ids.items() if not set(day_ids) <= got}
    assert missing <= set(planner.unverified_days), missing
