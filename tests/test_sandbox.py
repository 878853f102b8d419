"""Tests of indica_async.sandbox, driven with a bare aiohttp.ClientSession."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest
from attrs import evolve as attrs_evolve
from yarl import URL

import indica_async.sandbox as sandbox_module
from indica_async import (
    DEFAULT_MAX_LIMIT,
    AsyncIndicaClient,
    CustomerType,
    Ethnicity,
    Gender,
    PreferredLanguage,
)
from indica_async.sandbox import (
    BURST_FACTOR,
    CUSTOMER_FIELDS,
    DEFAULT_CUSTOMERS,
    DEFAULT_LIST_LIMIT,
    FAULT_KINDS,
    UNKNOWN_ENUM_SHARE,
    UNKNOWN_ENUM_VALUES,
    VENDOR_SAMPLE,
    VENDOR_SAMPLE_ID,
    FaultConfig,
    FaultKind,
    Sandbox,
    SandboxConfig,
    SandboxRecord,
    SandboxRecords,
    generate_customers,
    serve,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
FULL_YEAR = {"start_date": "2024-01-01", "end_date": "2024-12-31"}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def fetch(
    session: aiohttp.ClientSession,
    sandbox: Sandbox,
    path: str,
    params: Mapping[str, str] | None = None,
    *,
    key: str | None = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    headers = {"X-Api-Key": sandbox.api_key if key is None else key}
    url = URL(sandbox.base_url + path, encoded=True)
    async with session.get(url, params=params, headers=headers) as response:
        body = await response.read()
    decoded = orjson.loads(body) if response.content_type == "application/json" else body
    return response.status, decoded, response


# --- the public surface --------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    # Ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical.
    def group(name: str) -> int:
        return 0 if name.isupper() else 1 if name[0].isupper() else 2

    assert sandbox_module.__all__ == sorted(sandbox_module.__all__, key=lambda n: (group(n), n))
    for name in sandbox_module.__all__:
        assert hasattr(sandbox_module, name), name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"start_date": "2024/01/01"},
            r"start_date must be a datetime\.date or a YYYY-MM-DD string, got '2024/01/01' \(str\)",
        ),
        ({"end_date": 20241231}, r"end_date must be a datetime\.date .* got 20241231 \(int\)"),
        ({"start_date": datetime(2024, 1, 1)}, r"start_date must be a datetime\.date"),
        ({"customers": "500"}, r"customers must be an int >= 0, got '500' \(str\)"),
        ({"customers": True}, r"customers must be an int >= 0, got True"),
        ({"customers": -1}, r"customers must be an int >= 0"),
        ({"seed": 1.5}, r"seed must be an int"),
        ({"latency": "0.1"}, r"latency must be a finite number >= 0"),
        ({"limit_cap": 2.5}, r"limit_cap must be an int > 0 or None"),
        ({"rate_limit": 0}, r"rate_limit must be a number > 0 or None"),
        ({"api_key": ""}, r"api_key must be a non-empty string"),
        ({"faults": {"rate": 0.5}}, r"faults must be a FaultConfig"),
        ({"daily_counts": {"2024-01-01": 3}}, r"daily_counts keys must be datetime\.date"),
        ({"daily_counts": {date(2024, 1, 1): 2.0}}, r"daily_counts\[2024-01-01\] must be an int"),
        ({"distribution": "spiky"}, r"distribution"),
    ],
)
def test_config_checks_every_argument_at_construction(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SandboxConfig(**changes)


def test_config_takes_iso_date_strings() -> None:
    config = SandboxConfig(start_date="2023-02-01", end_date="2023-03-01")
    assert (config.start_date, config.end_date) == (date(2023, 2, 1), date(2023, 3, 1))
    assert len(generate_customers(attrs_evolve(config, customers=50))) == 50


def test_one_set_of_defaults() -> None:
    from indica_async.sandbox._command import _parser

    args = _parser("x").parse_args([])
    defaults = SandboxConfig()
    assert defaults.customers == DEFAULT_CUSTOMERS == args.customers
    assert (args.start_date, args.end_date) == (defaults.start_date, defaults.end_date)
    assert args.distribution == defaults.distribution
    assert args.vendor_sample is defaults.vendor_sample is True


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="outside"):
        SandboxConfig(daily_counts={date(2025, 1, 1): 3})
    with pytest.raises(ValueError, match="before"):
        SandboxConfig(start_date=date(2024, 2, 1), end_date=date(2024, 1, 1))
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultConfig(kinds=("teapot",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rate"):
        FaultConfig(rate=1.5)


# --- synthetic data --------------------------------------------------------------------


def test_generation_is_deterministic_and_seeded() -> None:
    config = SandboxConfig(customers=300, seed=7)
    first, again = generate_customers(config), generate_customers(config)
    other = generate_customers(SandboxConfig(customers=300, seed=8))
    assert first == again
    assert [r.raw for r in first] == [r.raw for r in again]
    assert first != other
    assert [r.raw for r in first] != [r.raw for r in other]


def test_generation_is_identical_across_processes() -> None:
    script = (
        "import hashlib\n"
        "from indica_async.sandbox import SandboxConfig, generate_customers\n"
        "records = generate_customers(SandboxConfig(customers=200, seed=11, distribution='bursty'))\n"
        "print(hashlib.sha256(b''.join(r.raw for r in records)).hexdigest())\n"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        digests.add(done.stdout.strip())
    records = generate_customers(SandboxConfig(customers=200, seed=11, distribution="bursty"))
    digests.add(hashlib.sha256(b"".join(r.raw for r in records)).hexdigest())
    assert len(digests) == 1


def test_records_are_sorted_unique_and_within_the_span() -> None:
    config = SandboxConfig(customers=2000, start_date=date(2023, 3, 1), end_date=date(2023, 5, 31))
    records = generate_customers(config)
    assert len(records) == 2000
    keys = [(r.created, r.id) for r in records]
    assert keys == sorted(keys)
    ids = [r.id for r in records]
    assert records.ids == tuple(ids)
    assert len(set(ids)) == len(ids)
    assert min(ids) > 0
    assert max(ids) - min(ids) + 1 > len(ids)  # gaps, like a real database
    assert all(config.start_date <= r.created <= config.end_date for r in records)
    assert all(r.body["id"] == r.id for r in records[:50])
    state_ids = [r.state_id for r in records if r.state_id is not None]
    assert len(set(state_ids)) == len(state_ids)


def day_counts(records: SandboxRecords) -> list[int]:
    counts = Counter(r.created for r in records)
    first, last = records[0].created, records[-1].created
    return [counts[first + timedelta(days=i)] for i in range((last - first).days + 1)]


def test_uniform_spreads_evenly() -> None:
    counts = day_counts(generate_customers(SandboxConfig(customers=20_000)))
    assert len(counts) == 366
    top = sorted(counts, reverse=True)[:7]
    assert sum(top) / 20_000 < 0.04
    assert min(counts) > 0


def test_growing_grows() -> None:
    counts = day_counts(generate_customers(SandboxConfig(customers=20_000, distribution="growing")))
    quarter = len(counts) // 4
    assert sum(counts[-quarter:]) > 2.5 * sum(counts[:quarter])


def test_bursty_concentrates_on_few_days() -> None:
    records = generate_customers(SandboxConfig(customers=20_000, distribution="bursty"))
    counts = day_counts(records)
    usual = statistics.median(counts)
    top = sorted(counts, reverse=True)[:7]  # 2% of 366 days
    # Each burst day holds about BURST_FACTOR usual days' sign-ups; nothing else comes close.
    assert all(0.6 * BURST_FACTOR * usual < n < 1.4 * BURST_FACTOR * usual for n in top)
    assert sorted(counts, reverse=True)[7] < 2 * usual
    assert Counter(r.created for r in records)[date(2024, 4, 20)] in top


def test_the_readme_bursty_sandbox_fits_the_default_max_limit() -> None:
    # README: --sandbox-customers 50000 --sandbox-distribution bursty over 2023-2024.
    # A burst was once a fixed 30% of all customers on 2% of the days: days of about
    # 1,000 customers, so that export raised WindowOverflowError every time.
    config = SandboxConfig(
        customers=50_000,
        distribution="bursty",
        start_date=date(2023, 1, 1),
        end_date=date(2024, 12, 31),
    )
    busiest = max(Counter(r.created for r in generate_customers(config)).values())
    assert busiest < DEFAULT_MAX_LIMIT / 1.5, busiest


def test_daily_counts_are_exact_and_allow_empty_stretches() -> None:
    wanted = {
        date(2024, 1, 1): 3,
        date(2024, 1, 2): 0,
        date(2024, 3, 15): 250,
        date(2024, 12, 31): 1,
    }
    records = generate_customers(SandboxConfig(daily_counts=wanted, customers=99))
    assert Counter(r.created for r in records) == {d: n for d, n in wanted.items() if n}


def test_every_field_is_present_null_and_missing_somewhere() -> None:
    bodies = [r.body for r in generate_customers(SandboxConfig(customers=3000))]
    nested: dict[str, tuple[str, ...]] = {
        "recommendation": ("number", "valid_from", "valid_to", "state_id_expires_on"),
        "address": ("street_address_1", "street_address_2", "city", "state", "zip"),
    }
    for field in CUSTOMER_FIELDS:
        values = [b[field] for b in bodies if field in b]
        if field == "id":
            assert len(values) == len(bodies)
            assert all(isinstance(v, int) for v in values)
            continue
        assert len(values) < len(bodies), f"{field} never missing"
        assert None in values, f"{field} never null"
        assert any(v is not None for v in values), f"{field} never set"
    for parent, fields in nested.items():
        objects = [b[parent] for b in bodies if b.get(parent) is not None]
        for field in fields:
            values = [o[field] for o in objects if field in o]
            assert len(values) < len(objects), f"{parent}.{field} never missing"
            assert None in values, f"{parent}.{field} never null"
            assert any(v is not None for v in values), f"{parent}.{field} never set"


def test_values_look_like_the_vendor_sample() -> None:
    records = generate_customers(SandboxConfig(customers=3000))
    bodies = [r.body for r in records]

    def values(field: str) -> list[Any]:
        return [b[field] for b in bodies if b.get(field) is not None]

    weights = values("weight")
    assert any(isinstance(w, int) for w in weights)
    assert any(isinstance(w, float) and not w.is_integer() for w in weights)
    assert all(re.fullmatch(r"[4-7]'\d{1,2}\"", h) for h in values("height"))
    iso = re.compile(r"\d{4}-\d{2}-\d{2}")
    for field in ("date_of_birth", "email_consent_date", "phone_consent_date"):
        assert all(iso.fullmatch(v) for v in values(field))
    assert all(re.fullmatch(r"\d{3}-\d{3}-\d{4}", p) for p in values("phone"))
    for field, unknown in UNKNOWN_ENUM_VALUES.items():
        assert unknown in values(field)
    assert {"male", "female", "other"} <= set(values("gender"))
    assert {"recreational", "medical", "medical_with_rec"} <= set(values("type"))
    assert "latino_or_hispanic" in values("ethnicity")
    assert {"english", "spanish"} <= set(values("preferred_language"))
    assert all(isinstance(g, int) for groups in values("manual_groups") for g in groups)
    assert all(isinstance(g, int) for groups in values("auto_groups") for g in groups)
    for body in bodies:
        if body.get("has_medical_recommendation") is False:
            assert body.get("recommendation") is None
    assert any(isinstance(b.get("recommendation"), dict) for b in bodies)
    state_ids = values("state_id")
    assert any(" " in s for s in state_ids)
    assert any("/" in s for s in state_ids)
    average = sum(len(r.raw) for r in records) / len(records)
    assert 800 <= average <= 1200


def _enum_values(enum_type: Any) -> set[str]:
    return {member.value for member in enum_type}


ENUMS = {
    "gender": Gender,
    "type": CustomerType,
    "ethnicity": Ethnicity,
    "preferred_language": PreferredLanguage,
}


def test_data_is_realistic_and_follows_the_models() -> None:
    records = generate_customers(SandboxConfig(customers=20_000, seed=3))
    bodies = [r.body for r in records]
    generated = [b for b in bodies if b["id"] != VENDOR_SAMPLE_ID]
    # Emails and mobile phones: one customer each (no deliberate duplicates).
    emails = [b["email"] for b in bodies if b.get("email") is not None]
    phones = [b["phone"] for b in bodies if b.get("phone") is not None]
    assert len(emails) > 0.9 * len(bodies) and len(set(emails)) == len(emails)
    assert len(phones) > 0.9 * len(bodies) and len(set(phones)) == len(phones)
    for field in ("office_phone", "fax"):
        numbers = [b[field] for b in bodies if b.get(field) is not None]
        assert numbers and len(set(numbers)) == len(numbers), field
    assert all(
        re.fullmatch(r"[a-z_.]+\d+@[a-z]+\.[a-z]+", e)
        for e in emails
        if e != VENDOR_SAMPLE["email"]
    )
    # Every enumeration value is a member of the models' enum, except the one
    # deliberate unknown value, carried by about UNKNOWN_ENUM_SHARE of customers.
    for field, enum_type in ENUMS.items():
        values = Counter(b.get(field) for b in bodies if b.get(field) is not None)
        known = _enum_values(enum_type)
        unknown = {v: n for v, n in values.items() if v not in known}
        assert set(unknown) == {UNKNOWN_ENUM_VALUES[field]}, (field, unknown)
        assert UNKNOWN_ENUM_VALUES[field] not in known
        assert unknown[UNKNOWN_ENUM_VALUES[field]] < 2 * UNKNOWN_ENUM_SHARE * len(bodies)
        assert set(values) - set(unknown) == known, field  # every member is served
    # Names agree with genders: no first name is given to both women and men.
    names: dict[str, set[str]] = {}
    for body in generated:
        if body.get("gender") in ("male", "female") and body.get("first_name"):
            names.setdefault(body["first_name"], set()).add(body["gender"])
    assert len(names) > 40
    assert all(len(genders) == 1 for genders in names.values()), names
    # Not one household for a crowd: addresses repeat only within small households.
    streets = Counter(
        (b["address"].get("street_address_1"), b["address"].get("city"))
        for b in generated
        if isinstance(b.get("address"), dict) and b["address"].get("street_address_1")
    )
    assert len(streets) > 900


def test_the_vendor_sample_is_served_in_place_of_one_customer() -> None:
    for customers in (1, 5, 900, 3000):
        records = generate_customers(SandboxConfig(customers=customers))
        assert len(records) == customers
        index = records.index_of_id(VENDOR_SAMPLE_ID)
        assert index is not None and records.index_of_state_id("CA987654") == index
        assert records[index].body == VENDOR_SAMPLE
        keys = [(r.created, r.id) for r in records]
        assert keys == sorted(keys)
    plain = generate_customers(SandboxConfig(customers=3000, vendor_sample=False))
    assert plain.index_of_state_id("CA987654") is None
    assert all(r.body.get("email") != VENDOR_SAMPLE["email"] for r in plain)


async def test_the_quick_start_lookups_work_against_a_default_sandbox() -> None:
    async with (
        Sandbox() as sandbox,
        AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url) as client,
    ):
        one = await client.customers.get(12345)
        same = await client.customers.get_by_state_id("CA987654")
    assert one == same
    assert (one.first_name, one.last_name, one.email) == ("Jane", "Smith", "jane@example.com")
    assert len(sandbox.records) == DEFAULT_CUSTOMERS


def test_records_from_bodies_are_sorted_and_checked() -> None:
    late = SandboxRecord.from_body(date(2024, 5, 2), {"id": 5, "state_id": "B"})
    early = SandboxRecord.from_body(date(2024, 5, 1), {"id": 9, "state_id": "A"})
    records = SandboxRecords.from_records([late, early])
    assert [r.id for r in records] == [9, 5]
    assert records[-1] == late
    with pytest.raises(ValueError, match="duplicate customer id"):
        SandboxRecords.from_records([early, SandboxRecord.from_body(date(2024, 1, 1), {"id": 9})])
    with pytest.raises(ValueError, match="id must be an int"):
        SandboxRecord.from_body(date(2024, 1, 1), {"id": "9"})


# --- endpoints --------------------------------------------------------------------------


async def test_get_customer(session: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxConfig(customers=50)) as sandbox:
        record = sandbox.records[17]
        status, body, response = await fetch(session, sandbox, f"/customers/{record.id}")
        assert status == 200
        assert response.content_type == "application/json"
        assert body == record.body
        for bad in (str(record.id + 10**7), "abc", "0", "-1", "1.5"):
            status, body, response = await fetch(session, sandbox, f"/customers/{bad}")
            assert status == 404, bad
            assert response.content_type == "application/json"
            assert body["error"] == "not_found"


async def test_state_id_lookup_decodes_spaces_and_slashes(session: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxConfig(customers=1000)) as sandbox:
        tricky = [
            r for r in sandbox.records if r.state_id and (" " in r.state_id or "/" in r.state_id)
        ]
        assert any("/" in r.state_id for r in tricky if r.state_id)
        assert any(" " in r.state_id for r in tricky if r.state_id)
        for record in tricky:
            assert record.state_id is not None
            encoded = quote(record.state_id, safe="")
            status, body, _ = await fetch(session, sandbox, f"/customers/state-id/{encoded}")
            assert status == 200, record.state_id
            assert body == record.body
        slashed = next(r.state_id for r in tricky if r.state_id and "/" in r.state_id)
        unencoded = quote(slashed, safe="/")
        status, _, _ = await fetch(session, sandbox, f"/customers/state-id/{unencoded}")
        assert status == 404
        status, body, _ = await fetch(session, sandbox, "/customers/state-id/XX%2000000000")
        assert status == 404
        assert body["error"] == "not_found"


async def test_wrong_or_missing_key_is_401_and_not_echoed(session: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxConfig(customers=5, api_key="s3cret-key")) as sandbox:
        customer = sandbox.records[0].id
        for path in (f"/customers/{customer}", "/customers/state-id/X", "/customers"):
            status, body, _ = await fetch(session, sandbox, path, FULL_YEAR, key="wrong-key")
            assert status == 401
            assert body["error"] == "unauthorized"
            assert b"s3cret" not in orjson.dumps(body)
            assert b"wrong-key" not in orjson.dumps(body)
        url = sandbox.base_url + f"/customers/{customer}"
        async with session.get(url) as response:
            assert response.status == 401


async def test_basic_plan_is_403_on_single_customer_endpoints(
    session: aiohttp.ClientSession,
) -> None:
    async with Sandbox(SandboxConfig(customers=5, plan="basic")) as sandbox:
        record = sandbox.records[0]
        assert record.state_id is not None
        for path in (
            f"/customers/{record.id}",
            f"/customers/state-id/{quote(record.state_id, safe='')}",
        ):
            status, body, _ = await fetch(session, sandbox, path)
            assert status == 403
            assert "PRO" in body["message"]
        status, body, _ = await fetch(session, sandbox, "/customers", FULL_YEAR)
        assert status == 200
        assert len(body) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"end_date": "2024-01-31"},
        {"start_date": "2024-01-01"},
        {"start_date": "2024-1-01", "end_date": "2024-01-31"},
        {"start_date": "2024-02-30", "end_date": "2024-03-31"},
        {"start_date": "20240101", "end_date": "2024-01-31"},
        {"start_date": "2024-02-01", "end_date": "2024-01-31"},
        {**FULL_YEAR, "limit": "abc"},
        {**FULL_YEAR, "limit": "0"},
        {**FULL_YEAR, "limit": "-3"},
        {**FULL_YEAR, "limit": ""},
        {**FULL_YEAR, "limit": "2.5"},
    ],
)
async def test_list_rejects_bad_queries(
    session: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    async with Sandbox(SandboxConfig(customers=5)) as sandbox:
        status, body, response = await fetch(session, sandbox, "/customers", params)
        assert status == 400
        assert response.content_type == "application/json"
        assert body["error"] == "bad_request"


async def test_list_window_is_inclusive_ordered_and_truncated(
    session: aiohttp.ClientSession,
) -> None:
    counts = {date(2024, 1, 1): 2, date(2024, 1, 5): 4, date(2024, 1, 9): 3, date(2024, 2, 1): 150}
    async with Sandbox(SandboxConfig(daily_counts=counts)) as sandbox:
        truth = [r.body for r in sandbox.records]
        params = {"start_date": "2024-01-05", "end_date": "2024-01-09", "limit": "50"}
        status, body, response = await fetch(session, sandbox, "/customers", params)
        assert status == 200
        assert response.content_type == "application/json"
        assert body == truth[2:9]
        params = {"start_date": "2024-01-02", "end_date": "2024-01-04", "limit": "5"}
        assert (await fetch(session, sandbox, "/customers", params))[1] == []
        params = {**FULL_YEAR, "limit": "6"}
        assert (await fetch(session, sandbox, "/customers", params))[1] == truth[:6]
        status, body, _ = await fetch(session, sandbox, "/customers", FULL_YEAR)
        assert body == truth[:DEFAULT_LIST_LIMIT]
        one_day = {"start_date": "2024-02-01", "end_date": "2024-02-01", "limit": "1000"}
        assert (await fetch(session, sandbox, "/customers", one_day))[1] == truth[9:]
        assert [(c.limit, c.returned) for c in sandbox.stats.list_requests] == [
            (50, 7),
            (5, 0),
            (6, 6),
            (DEFAULT_LIST_LIMIT, DEFAULT_LIST_LIMIT),
            (1000, 150),
        ]


async def test_limit_cap_and_max_limit(session: aiohttp.ClientSession) -> None:
    config = SandboxConfig(customers=300, limit_cap=40, max_limit=500)
    async with Sandbox(config) as sandbox:
        truth = [r.body for r in sandbox.records]
        status, body, _ = await fetch(session, sandbox, "/customers", {**FULL_YEAR, "limit": "200"})
        assert status == 200
        assert body == truth[:40]
        assert (await fetch(session, sandbox, "/customers", {**FULL_YEAR, "limit": "7"}))[
            1
        ] == truth[:7]
        status, body, _ = await fetch(session, sandbox, "/customers", {**FULL_YEAR, "limit": "501"})
        assert status == 400
        assert "500" in body["message"]


async def test_data_envelope(session: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxConfig(customers=30, envelope="data")) as sandbox:
        status, body, _ = await fetch(session, sandbox, "/customers", {**FULL_YEAR, "limit": "10"})
        assert status == 200
        assert list(body) == ["data"]
        assert body["data"] == [r.body for r in sandbox.records[:10]]
        empty = {"start_date": "2025-01-01", "end_date": "2025-01-02"}
        assert (await fetch(session, sandbox, "/customers", empty))[1] == {"data": []}


async def test_unknown_paths_and_methods_answer_json(session: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxConfig(customers=3)) as sandbox:
        status, body, _ = await fetch(session, sandbox, "/orders")
        assert (status, body["error"]) == (404, "not_found")
        async with session.post(sandbox.base_url + "/customers") as response:
            assert response.status == 405
            assert (await response.json())["error"] == "method_not_allowed"


async def test_sandboxes_share_records_and_take_a_fixed_port(
    session: aiohttp.ClientSession,
) -> None:
    body = {"id": 42, "first_name": "Ada", "state_id": "CA 1/2"}
    records = SandboxRecords.from_records([SandboxRecord.from_body(date(2024, 6, 1), body)])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Sandbox(records=records, port=port) as first, Sandbox(records=records) as second:
        assert first.port == port
        assert first.base_url == f"http://127.0.0.1:{port}/open_api/v2.3"
        assert first.records is second.records
        for sandbox in (first, second):
            assert (await fetch(session, sandbox, "/customers/42"))[1] == body
            assert (await fetch(session, sandbox, "/customers/state-id/CA%201%2F2"))[1] == body


# --- faults, stats, rate limiting -------------------------------------------------------


def faulty(kind: str, **fault_options: Any) -> SandboxConfig:
    return SandboxConfig(customers=20, faults=FaultConfig(rate=1.0, kinds=(kind,), **fault_options))  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
async def test_server_error_faults_with_json_bodies(
    session: aiohttp.ClientSession, kind: str
) -> None:
    async with Sandbox(faulty(kind)) as sandbox:
        status, body, response = await fetch(session, sandbox, "/customers", FULL_YEAR)
        assert status == int(kind)
        assert response.content_type == "application/json"
        assert body["error"] == "server_error"
        assert sandbox.stats.faults == {kind: 1}


@pytest.mark.parametrize("kind", ["500_html", "502_html", "503_html", "504_html"])
async def test_server_error_faults_with_html_bodies(
    session: aiohttp.ClientSession, kind: str
) -> None:
    async with Sandbox(faulty(kind)) as sandbox:
        status, body, response = await fetch(
            session, sandbox, f"/customers/{sandbox.records[0].id}"
        )
        assert status == int(kind[:3])
        assert response.content_type == "text/html"
        assert body.startswith(b"<html>")
        assert kind[:3].encode() in body


async def test_429_with_retry_after_seconds(session: aiohttp.ClientSession) -> None:
    async with Sandbox(faulty("429_seconds", retry_after=2.0)) as sandbox:
        status, body, response = await fetch(session, sandbox, "/customers", FULL_YEAR)
        assert status == 429
        assert response.headers["Retry-After"] == "2"
        assert body["error"] == "rate_limited"
        assert sandbox.stats.throttled == 1


async def test_429_with_retry_after_http_date(session: aiohttp.ClientSession) -> None:
    async with Sandbox(faulty("429_date", retry_after=30.0)) as sandbox:
        before = datetime.now(timezone.utc)
        status, _, response = await fetch(session, sandbox, "/customers", FULL_YEAR)
        assert status == 429
        header = response.headers["Retry-After"]
        assert header.endswith(" GMT")
        delay = (parsedate_to_datetime(header) - before).total_seconds()
        assert 29.0 <= delay <= 32.0


async def test_drop_fault_closes_the_connection(session: aiohttp.ClientSession) -> None:
    async with Sandbox(faulty("drop")) as sandbox:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await fetch(session, sandbox, "/customers", FULL_YEAR)
        assert sandbox.stats.faults["drop"] >= 1
        assert sandbox.stats.statuses == {}


async def test_truncate_fault_cuts_the_body(session: aiohttp.ClientSession) -> None:
    async with Sandbox(faulty("truncate")) as sandbox:
        with pytest.raises(aiohttp.ClientPayloadError):
            await fetch(session, sandbox, "/customers", FULL_YEAR)
        assert sandbox.stats.faults == {"truncate": 1}


async def test_latency_fault_delays_a_normal_answer(session: aiohttp.ClientSession) -> None:
    async with Sandbox(faulty("latency", spike=0.3)) as sandbox:
        started = time.monotonic()
        status, body, _ = await fetch(session, sandbox, "/customers", FULL_YEAR)
        assert time.monotonic() - started >= 0.29
        assert status == 200
        assert body == [r.body for r in sandbox.records]


async def test_faults_follow_rate_and_seed_and_spare_auth_and_unknown_paths(
    session: aiohttp.ClientSession,
) -> None:
    kinds: tuple[FaultKind, ...] = ("500", "503_html", "429_seconds")

    async def statuses(seed: int) -> list[int]:
        config = SandboxConfig(customers=5, faults=FaultConfig(rate=0.5, kinds=kinds, seed=seed))
        async with Sandbox(config) as sandbox:
            seen = [(await fetch(session, sandbox, "/customers", FULL_YEAR))[0] for _ in range(60)]
            assert sum(sandbox.stats.faults.values()) == sum(s != 200 for s in seen)
            return seen

    first = await statuses(1)
    assert 15 <= sum(s != 200 for s in first) <= 45
    assert set(first) == {200, 500, 503, 429}
    assert await statuses(1) == first
    assert await statuses(2) != first
    async with Sandbox(faulty("500")) as sandbox:
        assert (await fetch(session, sandbox, "/customers", FULL_YEAR, key="nope"))[0] == 401
        assert (await fetch(session, sandbox, "/nothing-here"))[0] == 404
        assert sandbox.stats.faults == {}


@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_every_fault_kind_does_what_its_name_says(
    session: aiohttp.ClientSession, kind: FaultKind
) -> None:
    # Driven by FAULT_KINDS itself: a kind added without an effect, or one whose effect
    # is not what its name says, fails here.
    config = faulty(kind, spike=0.3)
    async with Sandbox(config) as sandbox:
        url = sandbox.base_url + "/customers"
        headers = {"X-Api-Key": sandbox.api_key}
        began = time.monotonic()
        try:
            async with session.get(url, params=FULL_YEAR, headers=headers) as response:
                status = response.status
                content_type = response.content_type
                retry_after = response.headers.get("Retry-After")
                body = await response.read()
        except aiohttp.ClientPayloadError:
            outcome = "cut"
        except aiohttp.ServerDisconnectedError:
            outcome = "dropped"
        else:
            outcome = "answered"
        elapsed = time.monotonic() - began
        # aiohttp may retry a GET once on a dropped connection: count kinds, not requests.
        assert set(sandbox.stats.faults) == {kind}
    if kind == "drop":
        assert outcome == "dropped"
    elif kind == "truncate":
        assert outcome == "cut"
    elif kind == "latency":
        assert outcome == "answered" and status == 200 and elapsed >= 0.3
        assert len(orjson.loads(body)) == len(sandbox.records)
    elif kind.startswith("429"):
        assert outcome == "answered" and status == 429 and retry_after is not None
        if kind == "429_seconds":
            assert retry_after == "1"
        else:
            assert parsedate_to_datetime(retry_after) > datetime.now(timezone.utc)
    else:
        code, _, html = kind.partition("_")
        assert outcome == "answered" and status == int(code)
        assert content_type == ("text/html" if html else "application/json")


async def test_stats_count_concurrency_and_endpoints(session: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxConfig(customers=20, latency=0.2)) as sandbox:
        record = sandbox.records[0]
        paths = [f"/customers/{record.id}"] * 3 + [
            f"/customers/state-id/{quote(record.state_id or '', safe='')}"
        ]
        await asyncio.gather(*(fetch(session, sandbox, p) for p in paths))
        await asyncio.gather(*(fetch(session, sandbox, "/customers", FULL_YEAR) for _ in range(3)))
        stats = sandbox.stats
        assert stats.max_in_flight == 4
        assert stats.in_flight == 0
        assert stats.requests == 7
        assert stats.by_endpoint == {"get": 3, "state": 1, "list": 3}
        assert stats.statuses == {200: 7}
        assert len(stats.list_requests) == 3
        stats.reset()
        assert (stats.requests, stats.max_in_flight, stats.by_endpoint, stats.list_requests) == (
            0,
            0,
            {},
            [],
        )
        for _ in range(3):
            await fetch(session, sandbox, "/customers", FULL_YEAR)
        assert stats.max_in_flight == 1
        assert stats.requests == 3


async def test_rate_limit_answers_429_beyond_the_allowed_rate(
    session: aiohttp.ClientSession,
) -> None:
    config = SandboxConfig(customers=5, rate_limit=4.0, rate_burst=2)
    async with Sandbox(config) as sandbox:
        results = await asyncio.gather(
            *(fetch(session, sandbox, "/customers", FULL_YEAR) for _ in range(10))
        )
        statuses = Counter(status for status, _, _ in results)
        # The burst of two passes; a slow machine may refill one more token meanwhile.
        assert set(statuses) == {200, 429}
        assert 2 <= statuses[200] <= 3
        assert sandbox.stats.rate_limited == sandbox.stats.throttled == statuses[429]
        waits = [float(r.headers["Retry-After"]) for status, _, r in results if status == 429]
        assert all(0 < wait <= 0.25 for wait in waits)
        await asyncio.sleep(max(waits))
        assert (await fetch(session, sandbox, "/customers", FULL_YEAR))[0] == 200


# --- running standalone -----------------------------------------------------------------


async def test_serve_until_stopped(session: aiohttp.ClientSession) -> None:
    stop = asyncio.Event()
    urls: list[str] = []
    task = asyncio.create_task(
        serve(
            SandboxConfig(customers=3),
            ready=lambda sandbox: urls.append(sandbox.base_url),
            stop=stop,
        )
    )
    for _ in range(200):
        if urls:
            break
        await asyncio.sleep(0.01)
    async with session.get(
        urls[0] + "/customers", params=FULL_YEAR, headers={"X-Api-Key": "sandbox-key"}
    ) as response:
        assert response.status == 200
    stop.set()
    await asyncio.wait_for(task, 5)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with session.get(urls[0] + "/customers"):
            pass


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
async def test_module_runs_a_server_until_sigint(session: aiohttp.ClientSession) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "indica_async.sandbox",
        "--port",
        "0",
        "--customers",
        "25",
        "--api-key",
        "cli-key",
        "--envelope",
        "data",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        second = (await asyncio.wait_for(process.stdout.readline(), 5)).decode().strip()
        match = re.fullmatch(r"INDICA_BASE_URL=(http://127\.0\.0\.1:(\d+)/open_api/v2\.3)", first)
        assert match is not None, first
        assert int(match.group(2)) > 0
        assert second == "INDICA_API_KEY=cli-key"
        url = match.group(1) + "/customers"
        async with session.get(url, params=FULL_YEAR, headers={"X-Api-Key": "cli-key"}) as response:
            assert response.status == 200
            assert len((await response.json())["data"]) == 25
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    assert b"Traceback" not in await process.stderr.read()


def test_module_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    from indica_async.sandbox._command import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--fault-kinds", "500,teapot"])
    assert exit_info.value.code == 2
    assert "teapot" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--start-date", "2024-05-01", "--end-date", "2024-04-01"])
    assert "before" in capsys.readouterr().err
