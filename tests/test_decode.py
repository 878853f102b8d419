"""Decoding through the public API: `client.customers.get` and `list` over mocked HTTP.

Every field type on list bodies (both envelopes) and single bodies, and every kind of
failure, with the path and expected type the `DecodeError` must name and the values it
must not.
"""

from __future__ import annotations

import copy
import datetime as dt
import gc
import json
import pathlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from aioresponses import aioresponses

from indica_async import (
    Address,
    AsyncIndicaClient,
    Customer,
    CustomerType,
    DecodeError,
    Ethnicity,
    Gender,
    PreferredLanguage,
    Recommendation,
    RetryPolicy,
    customer_to_dict,
)
from indica_async._converters import decode_list_body

BASE = "https://api.test/open_api/v2.3"
KEY = "test-secret-key-0123456789"
ONE_URL = f"{BASE}/customers/12345"
LIST_URL = re.compile(r"^https://api\.test/open_api/v2\.3/customers\?.*$")
SAMPLE: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "samples" / "vendor_customer.json").read_text()
)
FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.02)


def sample(**changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(SAMPLE)
    obj.update(changes)
    return obj


@pytest.fixture
def http() -> Iterator[aioresponses]:
    with aioresponses() as mocked:
        yield mocked


@pytest.fixture
async def client() -> AsyncIterator[AsyncIndicaClient]:
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=FAST) as c:
        yield c


@pytest.fixture
async def strict_client() -> AsyncIterator[AsyncIndicaClient]:
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=FAST, strict=True) as c:
        yield c


async def list_body(client: AsyncIndicaClient, http: aioresponses, body: bytes) -> list[Customer]:
    http.get(LIST_URL, body=body, content_type="application/json")
    return await client.customers.list(start_date="2025-01-01", end_date="2025-01-31")


async def one_body(client: AsyncIndicaClient, http: aioresponses, body: bytes) -> Customer:
    http.get(ONE_URL, body=body, content_type="application/json")
    return await client.customers.get(12345)


# --- every field type -------------------------------------------------------------------

EVERY_TYPE = sample(
    id=7,  # int
    first_name="Zoë",  # str
    weight=72.5,  # float (int | float)
    has_medical_recommendation=False,  # bool
    date_of_birth="1988-02-29",  # date
    gender="nonbinary",  # open enum, unknown value
    type="medical",  # open enum, member
    manual_groups=[],  # tuple[int, ...], empty
    auto_groups=[9, 2**40],  # tuple[int, ...]
    phone=None,  # null
)
del EVERY_TYPE["email"]  # missing


def check_every_type(customer: Customer) -> None:
    assert customer.id == 7 and type(customer.id) is int
    assert customer.first_name == "Zoë"
    assert customer.weight == 72.5 and type(customer.weight) is float
    assert customer.has_medical_recommendation is False
    assert customer.date_of_birth == dt.date(1988, 2, 29)
    assert customer.gender == "nonbinary" and isinstance(customer.gender, Gender)
    assert customer.gender not in list(Gender)
    assert customer.type is CustomerType.MEDICAL
    assert customer.ethnicity is Ethnicity.LATINO_OR_HISPANIC
    assert customer.preferred_language is PreferredLanguage.ENGLISH
    assert customer.manual_groups == () and customer.auto_groups == (9, 2**40)
    assert customer.phone is None and customer.email is None
    assert customer.recommendation == Recommendation(
        number="RX987654",
        valid_from=dt.date(2025, 1, 1),
        valid_to=dt.date(2025, 12, 31),
        state_id_expires_on=dt.date(2025, 7, 15),
    )
    assert type(customer.address) is Address and customer.address.zip == "90026"
    expected = {**EVERY_TYPE, "email": None}
    assert customer_to_dict(customer) == expected
    assert type(customer_to_dict(customer)["gender"]) is str


@pytest.mark.parametrize("envelope", ["bare", "data"])
async def test_list_bodies_decode_every_field_type(
    http: aioresponses, client: AsyncIndicaClient, envelope: str
) -> None:
    items = [SAMPLE, EVERY_TYPE, {"id": 3}]
    body = orjson.dumps(items if envelope == "bare" else {"data": items, "total": 3})
    customers = await list_body(client, http, body)
    assert [c.id for c in customers] == [12345, 7, 3]
    check_every_type(customers[1])
    assert customers[2] == Customer(3)
    assert customer_to_dict(customers[0]) == SAMPLE


async def test_single_bodies_decode_every_field_type(
    http: aioresponses, client: AsyncIndicaClient, strict_client: AsyncIndicaClient
) -> None:
    check_every_type(await one_body(client, http, orjson.dumps(EVERY_TYPE)))
    check_every_type(await one_body(strict_client, http, orjson.dumps(EVERY_TYPE)))


async def test_unknown_fields_are_ignored_by_default(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    drifted = sample(loyalty_points=3, address={**SAMPLE["address"], "country": "US"})
    plain = await one_body(client, http, orjson.dumps(SAMPLE))
    assert await one_body(client, http, orjson.dumps(drifted)) == plain
    assert await list_body(client, http, orjson.dumps([drifted])) == [plain]


# --- every failure kind -----------------------------------------------------------------

SECRET = "jenny@example.com"

FAILURES = [
    # (what is wrong, path inside one customer, expected type)
    ({"weight": SECRET}, ".weight", "int | float | null"),  # wrong type
    ({"date_of_birth": "1981-13-45"}, ".date_of_birth", "date"),  # bad date
    ({"id": True}, ".id", "int"),  # bool where int
    ({"auto_groups": [1, False]}, ".auto_groups[1]", "int"),  # bool where int, in a list
    ({"id": None}, ".id", "int"),  # null id
    ({"address": {"zip": 90026}}, ".address.zip", "str | null"),  # nested
]


@pytest.mark.parametrize(("changes", "path", "expected"), FAILURES)
async def test_failures_name_the_path_and_type_on_list_and_single_bodies(
    http: aioresponses,
    client: AsyncIndicaClient,
    changes: dict[str, Any],
    path: str,
    expected: str,
) -> None:
    bad = sample(**changes)
    cases = [
        ("list", orjson.dumps([SAMPLE, bad]), f"$[1]{path}"),
        ("data", orjson.dumps({"data": [SAMPLE, bad]}), f"$.data[1]{path}"),
        ("one", orjson.dumps(bad), f"${path}"),
    ]
    for kind, body, full_path in cases:
        decode = one_body if kind == "one" else list_body
        with pytest.raises(DecodeError) as info:
            await decode(client, http, body)
        error = info.value
        assert (error.field, error.expected) == (full_path, expected)
        assert error.method == "GET"
        assert error.path == ("/customers/12345" if kind == "one" else "/customers")
        assert f"at `{full_path}`" in str(error)
        for value in changes.values():
            shown = orjson.dumps(value).decode().strip('"')
            if shown not in ("true", "false", "null", "1"):
                assert shown not in str(error) and shown not in repr(error)


async def test_missing_id_is_named_on_list_and_single_bodies(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    bad = sample()
    del bad["id"]
    with pytest.raises(DecodeError, match="missing") as info:
        await list_body(client, http, orjson.dumps([SAMPLE, bad]))
    assert (info.value.field, info.value.expected) == ("$[1].id", "int")
    with pytest.raises(DecodeError, match="missing") as info:
        await one_body(client, http, orjson.dumps(bad))
    assert (info.value.field, info.value.expected) == ("$.id", "int")


async def test_strict_mode_rejects_unknown_fields_without_naming_them(
    http: aioresponses, strict_client: AsyncIndicaClient
) -> None:
    drifted = sample(**{SECRET: 1})
    nested = sample(address={**SAMPLE["address"], SECRET: "x"})
    for body, path in [
        (orjson.dumps([SAMPLE, SAMPLE, SAMPLE, drifted]), "$[3]"),
        (orjson.dumps({"data": [nested]}), "$.data[0].address"),
    ]:
        with pytest.raises(DecodeError, match="nknown field") as info:
            await list_body(strict_client, http, body)
        assert info.value.field == path
        assert f"at `{path}`" in str(info.value)
        assert "jenny" not in str(info.value) and "jenny" not in repr(info.value)
    with pytest.raises(DecodeError) as info:
        await one_body(strict_client, http, orjson.dumps(drifted))
    assert info.value.field == "$" and "jenny" not in str(info.value)


HOSTILE_KEYS = [
    "a - at `$leak@example.com",
    "a - at `$.jsmith",
    "a - at `$[0].jsmith",
    "a` - at `$.jsmith",
    "a - at `$.data[0].jsmith` - at `$",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
async def test_a_key_name_that_mimics_a_path_never_reaches_the_error(
    http: aioresponses, strict_client: AsyncIndicaClient, key: str
) -> None:
    # msgspec quotes an unknown key and, below the top level, appends " - at `path`":
    # a key that reads like that suffix must not become the error's path.
    drifted = sample(**{key: 1})
    cases = [
        (list_body, orjson.dumps([SAMPLE, drifted]), "$[1]"),
        (list_body, orjson.dumps({"data": [drifted]}), "$.data[0]"),
        (one_body, orjson.dumps(drifted), "$"),
    ]
    for read, body, path in cases:
        with pytest.raises(DecodeError, match="nknown field") as info:
            await read(strict_client, http, body)
        error = info.value
        assert error.field == path
        shown = f"{error} {error.args!r} {error!r}"
        assert "leak" not in shown and "jsmith" not in shown


async def test_unknown_enum_values_never_fail(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    odd = sample(gender="x", type="wholesale", ethnicity="", preferred_language="klingon")
    for customer in [
        (await list_body(client, http, orjson.dumps([odd])))[0],
        await one_body(client, http, orjson.dumps(odd)),
    ]:
        assert (customer.gender, customer.type) == ("x", "wholesale")
        assert (customer.ethnicity, customer.preferred_language) == ("", "klingon")
        assert isinstance(customer.preferred_language, PreferredLanguage)
        assert customer_to_dict(customer) == odd


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b'"customers"', "str"),
        (b"12", "int"),
        (b"null", "null"),
        (b"true", "bool"),
        (b'{"customers": [], "jenny@example.com": 1}', "object"),
        (b'{"data": {"id": 1}}', "object"),
    ],
)
async def test_a_list_body_of_another_shape_names_the_json_type_only(
    http: aioresponses, client: AsyncIndicaClient, body: bytes, found: str
) -> None:
    with pytest.raises(DecodeError) as info:
        await list_body(client, http, body)
    assert f"got `{found}`" in str(info.value)
    for secret in ("customers", "jenny", '"id"'):
        assert secret not in str(info.value).replace("/customers", "")


async def test_a_single_body_that_is_not_an_object(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    with pytest.raises(DecodeError, match="got `array`") as info:
        await one_body(client, http, orjson.dumps([SAMPLE]))
    assert info.value.field == "$"
    with pytest.raises(DecodeError, match="not valid JSON"):
        await one_body(client, http, b'{"id": 1')


@pytest.mark.parametrize("strict", [False, True])
async def test_deeply_nested_bodies_are_decode_errors(http: aioresponses, strict: bool) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    async with AsyncIndicaClient(KEY, base_url=BASE, retry=FAST, strict=strict) as client:
        for body in (
            b'{"id": 1, "x": ' + deep + b"}",
            b'{"data": [{"id": 1, "x": ' + deep + b"}]}",
        ):
            with pytest.raises(DecodeError, match="nested too deeply"):
                await one_body(client, http, body)
            with pytest.raises(DecodeError, match="nested too deeply"):
                await list_body(client, http, body)


# --- no interpreter-wide state ----------------------------------------------------------


async def test_decoding_leaves_the_garbage_collector_alone(
    http: aioresponses, client: AsyncIndicaClient
) -> None:
    threshold = (12_345, 17, 19)
    old = gc.get_threshold()
    gc.set_threshold(*threshold)
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            customers = await list_body(client, http, orjson.dumps([SAMPLE] * 500))
            assert len(customers) == 500
            assert gc.isenabled() is enabled
            assert gc.get_threshold() == threshold
            with pytest.raises(DecodeError):
                await list_body(client, http, orjson.dumps([SAMPLE, {"id": "x"}]))
            assert gc.isenabled() is enabled
            assert gc.get_threshold() == threshold
    finally:
        gc.enable()
        gc.set_threshold(*old)


def test_the_collector_runs_during_a_decode() -> None:
    # A decode that paused the collector (as the SDK once did) would let none run.
    body = orjson.dumps([SAMPLE] * 500)
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    old = gc.get_threshold()
    gc.set_threshold(50, 1000, 1000)
    gc.callbacks.append(count)
    try:
        customers = decode_list_body(body)
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*old)
    assert len(customers) == 500
    assert len(collections) >= 5
