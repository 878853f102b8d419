"""Decode benchmarks: the SDK's decode from bytes against orjson.loads on the same page.

Run (the suite's ``filterwarnings = error`` stays on; nothing here warns)::

    python -m pytest benchmarks/test_decode_bench.py --benchmark-only
    python -m pytest benchmarks/test_decode_bench.py --benchmark-only --benchmark-save=decode
    python -m pytest benchmarks/test_decode_bench.py --benchmark-only --benchmark-compare

Each round decodes one page of 500 customers of about 1 KB each, from the same bytes.
The issue's goal is ``sdk_decode_list_body`` (bytes to checked attrs models) at least
0.85x as fast as ``orjson_loads_only`` (bytes to unchecked dicts);
``test_decode_keeps_up_with_orjson`` checks it.
"""

from __future__ import annotations

import datetime as dt
import random
import string
import timeit
from typing import Any

import orjson
import pytest

from indica_async import converter
from indica_async._converters import decode_list_body
from indica_async.models import Customer

PAGE_SIZE = 500
SEED = 20250101

_STREETS = ["Sunset Blvd", "Main St", "Oak Ave", "Mission St", "Broadway", "Elm St", "3rd St"]
_CITIES = [("Los Angeles", "CA", "900"), ("Denver", "CO", "802"), ("Portland", "OR", "972")]
_FIRST = ["Jane", "John", "Maria", "Wei", "Aisha", "Carlos", "Olga", "Tran", "Sam", "Priya"]
_LAST = ["Smith", "Garcia", "Nguyen", "Johnson", "Kim", "Ivanova", "Brown", "Patel", "Lopez"]
_GENDERS = ["male", "female", "other", "nonbinary"]
_TYPES = ["recreational", "medical", "medical_with_rec"]
_ETHNICITIES = ["latino_or_hispanic", "white", "asian", "black_or_african_american", "other"]
_LANGUAGES = ["english", "spanish", "chinese", "vietnamese", "klingon"]


def _day(rng: random.Random, start: int, end: int) -> str:
    base = dt.date(start, 1, 1)
    return (base + dt.timedelta(days=rng.randrange((dt.date(end, 1, 1) - base).days))).isoformat()


def _maybe(rng: random.Random, value: Any, null_rate: float = 0.15) -> Any:
    return None if rng.random() < null_rate else value


def _phone(rng: random.Random) -> str:
    return f"{rng.randrange(200, 999)}-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}"


def make_customer(rng: random.Random, customer_id: int) -> dict[str, Any]:
    """One realistic customer in the API's JSON shape (about 1 KB), with some nulls."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city, state, zip_prefix = rng.choice(_CITIES)
    medical = rng.random() < 0.5
    consent = _day(rng, 2022, 2025)
    comment = " ".join(
        "".join(rng.choices(string.ascii_lowercase, k=rng.randrange(3, 9)))
        for _ in range(rng.randrange(4, 12))
    )
    return {
        "id": customer_id,
        "first_name": first,
        "last_name": last,
        "middle_name": _maybe(rng, rng.choice(string.ascii_uppercase), 0.5),
        "date_of_birth": _day(rng, 1950, 2004),
        "phone": _phone(rng),
        "email": f"{first.lower()}.{last.lower()}{customer_id}@example.com",
        "comment": _maybe(rng, comment, 0.3),
        "has_medical_recommendation": medical,
        "recommendation": {
            "number": f"RX{rng.randrange(10**6, 10**7)}",
            "valid_from": "2025-01-01",
            "valid_to": "2025-12-31",
            "state_id_expires_on": _day(rng, 2025, 2028),
        }
        if medical
        else None,
        "state_id": f"{state}{rng.randrange(10**6, 10**7)}",
        "alternative_id": _maybe(rng, f"ALT-{rng.randrange(10**5)}", 0.8),
        "passport": _maybe(rng, f"P{rng.randrange(10**8)}", 0.9),
        "gender": _maybe(rng, rng.choice(_GENDERS)),
        "weight": _maybe(rng, rng.choice([rng.randrange(45, 130), round(rng.uniform(45, 130), 1)])),
        "height": _maybe(rng, f"{rng.randrange(4, 7)}'{rng.randrange(0, 12)}\""),
        "type": rng.choice(_TYPES),
        "ethnicity": _maybe(rng, rng.choice(_ETHNICITIES), 0.3),
        "preferred_language": _maybe(rng, rng.choice(_LANGUAGES)),
        "manual_groups": [rng.randrange(100, 400) for _ in range(rng.randrange(0, 4))],
        "auto_groups": _maybe(rng, [rng.randrange(300, 400) for _ in range(rng.randrange(1, 3))]),
        "home_phone": _maybe(rng, _phone(rng), 0.7),
        "office_phone": _maybe(rng, _phone(rng), 0.9),
        "fax": None,
        "address": {
            "street_address_1": f"{rng.randrange(1, 9999)} {rng.choice(_STREETS)}",
            "street_address_2": _maybe(rng, f"Unit {rng.randrange(1, 40)}", 0.6),
            "city": city,
            "state": state,
            "zip": f"{zip_prefix}{rng.randrange(10, 99)}",
        },
        "mail_messages_allowed": rng.random() < 0.5,
        "email_messages_allowed": rng.random() < 0.8,
        "text_messages_allowed": rng.random() < 0.6,
        "call_messages_allowed": rng.random() < 0.3,
        "email_consent_date": _maybe(rng, consent, 0.3),
        "phone_consent_date": _maybe(rng, consent, 0.3),
    }


def make_page(size: int = PAGE_SIZE, seed: int = SEED) -> bytes:
    """A page of customers as the API would send it: a JSON array, as bytes."""
    rng = random.Random(seed)
    return orjson.dumps([make_customer(rng, 100_000 + i) for i in range(size)])


PAGE = make_page()


def cattrs_decode(body: bytes) -> list[Customer]:
    return converter.structure(orjson.loads(body), list[Customer])


def test_page_is_realistic() -> None:
    items = orjson.loads(PAGE)
    assert len(items) == PAGE_SIZE
    assert 700 <= len(PAGE) / PAGE_SIZE <= 1300
    assert decode_list_body(PAGE) == cattrs_decode(PAGE)


@pytest.mark.benchmark(group="decode-500")
def test_orjson_loads_only(benchmark: Any) -> None:
    benchmark(orjson.loads, PAGE)


@pytest.mark.benchmark(group="decode-500")
def test_cattrs_converter_from_dicts(benchmark: Any) -> None:
    benchmark(cattrs_decode, PAGE)


@pytest.mark.benchmark(group="decode-500")
def test_sdk_decode_list_body(benchmark: Any) -> None:
    benchmark(decode_list_body, PAGE)


@pytest.mark.benchmark(group="decode-500")
def test_sdk_decode_list_body_strict(benchmark: Any) -> None:
    benchmark(lambda: decode_list_body(PAGE, strict=True))


def test_decode_keeps_up_with_orjson() -> None:
    """Bytes to checked models at least 0.85x as fast as bytes to unchecked dicts."""
    candidates = {
        "sdk": lambda: decode_list_body(PAGE),
        "orjson": lambda: orjson.loads(PAGE),
    }
    best = dict.fromkeys(candidates, float("inf"))
    # Alternate the two and keep each one's best, so a burst of load on a shared machine
    # slows down one sample, not one side.
    for _ in range(15):
        for name, run in candidates.items():
            best[name] = min(best[name], timeit.timeit(run, number=3))
    speed = best["orjson"] / best["sdk"]
    assert speed >= 0.85, f"only {speed:.2f}x orjson.loads"
