"""The report's figures over a sandbox-filled store (SQLite and PostgreSQL) equal the
same figures counted in plain Python from the sandbox's ground truth."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from typing import Any

import attrs
import pytest

from indica_async.report import _scan, build_report
from indica_async.sync import Store

from . import _truth as truth
from ._filled import TODAY, Filled, fill


@pytest.fixture
async def filled(store_target: str) -> Filled:
    return await fill(store_target)


async def test_every_figure_equals_the_ground_truth(filled: Filled) -> None:
    report, changes = filled.report, filled.changes
    rows = truth.customers(changes.records)

    assert report.store.active == len(rows) == len(changes.records)
    assert report.store.deleted == len(changes.deleted) == 5
    assert not report.empty

    growth = truth.growth(rows, TODAY)
    assert report.growth.widest_window_days == 1
    assert report.growth.dated_to_the_day == len(rows)
    assert [(p.start, p.count) for p in report.growth.weeks] == growth["weeks"]
    assert [(p.start, p.count) for p in report.growth.months] == growth["months"]
    assert report.growth.trend.complete_months == growth["complete_months"] >= 2
    assert report.growth.trend.slope_per_month == pytest.approx(growth["slope"])
    assert report.growth.trend.direction == "growing"

    assert {c.label: c.count for c in report.type_mix.totals} == truth.type_totals(rows)
    per_month = truth.type_per_month(rows)
    for kind in report.type_mix.types:
        for month, count in zip(report.type_mix.months, report.type_mix.counts[kind], strict=True):
            assert count == per_month[month, kind], (month, kind)

    expected = truth.action_list(rows, TODAY)
    assert expected, "the sandbox should hold something expiring within 90 days"
    assert [
        (
            item.expires_on,
            item.customer_id,
            item.what,
            item.first_name,
            item.last_name,
            item.email,
            item.phone,
            item.email_allowed,
            item.text_allowed,
            item.call_allowed,
        )
        for item in report.expirations.action_list
    ] == expected
    assert all(
        item.days_left == (item.expires_on - TODAY).days for item in report.expirations.action_list
    )
    assert report.expirations.buckets == truth.buckets(expected, TODAY)

    assert {
        c.name: (c.allowed, c.reachable, c.consent_dated) for c in report.marketing.channels
    } == truth.channels(rows)
    assert [(p.start, p.count) for p in report.marketing.email_consents] == truth.consent_months(
        rows, "email_consent_date"
    )
    assert [(p.start, p.count) for p in report.marketing.phone_consents] == truth.consent_months(
        rows, "phone_consent_date"
    )

    people = report.demographics
    assert {c.label: c.count for c in people.age_bands} == truth.ages(rows, TODAY)
    assert {c.label: c.count for c in people.genders} == truth.counted(rows, "gender")
    assert {c.label: c.count for c in people.languages} == truth.counted(rows, "preferred_language")
    cities, zips = truth.places(rows)
    assert [(c.label, c.count) for c in people.top_cities] == cities
    assert [(c.label, c.count) for c in people.top_zips] == zips

    assert attrs.asdict(report.data_quality) == truth.quality(rows)
    assert report.data_quality.shared_emails > 0 and report.data_quality.shared_phones > 0

    last = report.changes.last_run
    assert last is not None and last.mode == "full"
    assert (last.new, last.changed, last.deleted) == (6, 12, 5)
    assert {c.label: c.count for c in report.changes.changed_fields} == dict(
        Counter(name for fields in changes.changed.values() for name in fields)
    )
    assert [run.mode for run in report.changes.recent_runs] == ["full", "first"]


async def test_the_figures_serialize_to_plain_json(filled: Filled) -> None:
    data = filled.report.to_json()
    again = json.loads(json.dumps(data))
    assert again == data
    assert again["empty"] is False
    assert again["store"]["active"] == len(filled.changes.records)
    assert again["growth"]["weeks"][0]["start"] == filled.report.growth.weeks[0].start.isoformat()
    assert len(again["expirations"]["action_list"]) == len(filled.report.expirations.action_list)
    charts_only = filled.report.to_json(action_list=False)
    assert charts_only["expirations"]["action_list"] == []
    assert charts_only["expirations"]["buckets"] == data["expirations"]["buckets"]
    emails = {item.email for item in filled.report.expirations.action_list if item.email}
    assert emails and not any(email in json.dumps(charts_only) for email in emails)


async def test_an_empty_store_gives_an_empty_report(store_target: str) -> None:
    async with Store(store_target) as store:
        report = await build_report(store, "shop", today=TODAY)

    assert report.empty
    assert (report.store.found, report.store.active) == (False, 0)
    assert report.growth.weeks == report.growth.months == ()
    assert report.growth.trend.direction == "not enough complete months"
    assert report.type_mix.types == ()
    assert report.expirations.action_list == ()
    assert report.expirations.buckets == {"recommendation": (0, 0, 0), "state_id": (0, 0, 0)}
    assert [c.allowed for c in report.marketing.channels] == [0, 0, 0, 0]
    assert report.demographics.age_bands == report.demographics.top_cities == ()
    assert attrs.asdict(report.data_quality) == dict.fromkeys(attrs.asdict(report.data_quality), 0)
    assert report.changes.last_run is None
    assert json.loads(json.dumps(report.to_json()))["empty"] is True


async def test_the_event_loop_keeps_running_while_customers_are_counted(
    filled: Filled, store_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = 0
    seen_during_counting: list[int] = []
    count = _scan._count

    def slow_count(*args: Any) -> None:
        # A batch as slow as a large one: does the loop run meanwhile?
        before = ticks
        time.sleep(0.05)
        count(*args)
        seen_during_counting.append(ticks - before)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    monkeypatch.setattr(_scan, "_count", slow_count)
    running = asyncio.create_task(ticker())
    try:
        async with Store(store_target) as store:
            report = await build_report(store, "shop", today=TODAY)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running

    assert report == filled.report  # the same figures, counted off the loop
    assert seen_during_counting and max(seen_during_counting) > 0, seen_during_counting
