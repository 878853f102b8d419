from __future__ import annotations

import copy
import datetime as dt
import json
import pathlib
import re
from typing import Any

import attrs
import orjson
import pytest
import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indica_async import _converters
from indica_async._converters import (
    customer_to_json,
    decode_customer,
    decode_customers,
    encode_customer,
    make_converter,
)
from indica_async._errors import APIError, DecodeError
from indica_async.models import (
    Address,
    Customer,
    CustomerType,
    Ethnicity,
    Gender,
    PreferredLanguage,
    Recommendation,
)

SAMPLE_PATH = pathlib.Path(__file__).parent / "samples" / "vendor_customer.json"
SAMPLE: dict[str, Any] = json.loads(SAMPLE_PATH.read_text())

STOCK = make_converter(fast=False)
STOCK_DETAILED = make_converter(fast=False, detailed_validation=True)


def sample(**changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(SAMPLE)
    obj.update(changes)
    return obj


def decode_error(obj: object, *, strict: bool = False) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode_customer(obj, strict=strict)
    return info.value


def assert_identical(a: object, b: object) -> None:
    """Equal, and of the same types all the way down ('female' == Gender.FEMALE, 1 == 1.0)."""
    assert type(a) is type(b)
    if attrs.has(type(a)):
        for field in attrs.fields(type(a)):  # type: ignore[arg-type]
            assert_identical(getattr(a, field.name), getattr(b, field.name))
    elif isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list))
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_identical(x, y)
    else:
        assert a == b


# --- the vendor sample ------------------------------------------------------------------


def test_vendor_sample_decodes() -> None:
    customer = decode_customer(SAMPLE)
    expected = Customer(
        id=12345,
        first_name="Jane",
        last_name="Smith",
        middle_name="A",
        date_of_birth=dt.date(1990, 4, 12),
        phone="555-123-4567",
        email="jane@example.com",
        comment="Frequent customer",
        has_medical_recommendation=True,
        recommendation=Recommendation(
            number="RX987654",
            valid_from=dt.date(2025, 1, 1),
            valid_to=dt.date(2025, 12, 31),
            state_id_expires_on=dt.date(2025, 7, 15),
        ),
        state_id="CA987654",
        alternative_id=None,
        passport=None,
        gender=Gender.FEMALE,
        weight=65,
        height="5'6\"",
        type=CustomerType.MEDICAL_WITH_REC,
        ethnicity=Ethnicity.LATINO_OR_HISPANIC,
        preferred_language=PreferredLanguage.ENGLISH,
        manual_groups=(101, 203),
        auto_groups=(301,),
        home_phone=None,
        office_phone=None,
        fax=None,
        address=Address(
            street_address_1="456 Sunset Blvd",
            street_address_2="Unit 2",
            city="Los Angeles",
            state="CA",
            zip="90026",
        ),
        mail_messages_allowed=True,
        email_messages_allowed=True,
        text_messages_allowed=False,
        call_messages_allowed=True,
        email_consent_date=dt.date(2024, 11, 10),
        phone_consent_date=dt.date(2024, 11, 10),
    )
    assert_identical(customer, expected)
    assert customer.gender is Gender.FEMALE
    assert customer.type is CustomerType.MEDICAL_WITH_REC


def test_vendor_sample_round_trips() -> None:
    encoded = encode_customer(decode_customer(SAMPLE))
    assert encoded == SAMPLE
    assert list(encoded) == list(SAMPLE)
    assert type(encoded["gender"]) is str
    assert type(encoded["manual_groups"]) is list
    assert type(encoded["date_of_birth"]) is str
    assert orjson.loads(customer_to_json(decode_customer(SAMPLE))) == SAMPLE


def test_vendor_sample_file_is_json_with_a_quoted_state_id() -> None:
    assert SAMPLE["state_id"] == "CA987654"


# --- nulls, missing fields, unknown fields ------------------------------------------------


def test_every_optional_field_null() -> None:
    obj: dict[str, Any] = dict.fromkeys(SAMPLE)
    obj["id"] = 1
    customer = decode_customer(obj)
    assert customer == Customer(1)
    assert encode_customer(customer) == obj


def test_every_optional_field_missing() -> None:
    customer = decode_customer({"id": 1})
    assert customer == Customer(1)
    assert encode_customer(customer) == {name: (1 if name == "id" else None) for name in SAMPLE}


def test_nested_objects_with_nulls_and_missing_fields() -> None:
    customer = decode_customer(sample(recommendation={"number": None}, address={}))
    assert customer.recommendation == Recommendation()
    assert customer.address == Address()


def test_unknown_fields_are_ignored_by_default() -> None:
    obj = sample(loyalty_points=12, address={**SAMPLE["address"], "country": "US"})
    assert decode_customer(obj) == decode_customer(SAMPLE)


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        (sample(loyalty_points=12), "loyalty_points"),
        (sample(address={**SAMPLE["address"], "country": "US"}), "address.country"),
        (sample(recommendation={"issuer": "Dr. X"}), "recommendation.issuer"),
    ],
)
def test_strict_mode_rejects_unknown_fields(obj: dict[str, Any], path: str) -> None:
    error = decode_error(obj, strict=True)
    assert error.field == path
    assert path in str(error)
    with pytest.raises(DecodeError) as info:
        decode_customers([SAMPLE, obj], strict=True)
    assert info.value.field == f"[1].{path}"


def test_strict_mode_accepts_known_fields() -> None:
    assert decode_customer(SAMPLE, strict=True) == decode_customer(SAMPLE)
    assert decode_customers([SAMPLE], strict=True) == [decode_customer(SAMPLE)]


def test_strict_mode_names_the_first_unknown_field_in_a_stable_order() -> None:
    assert decode_error(sample(zeta=1, alpha=2), strict=True).field == "alpha"


# --- open enums ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gender", "type", "ethnicity", "preferred_language"])
def test_unknown_enum_values_keep_the_raw_string_and_round_trip(name: str) -> None:
    obj = sample(**{name: "something_new"})
    value = getattr(decode_customer(obj), name)
    assert value == "something_new"
    assert type(value) is str
    assert encode_customer(decode_customer(obj)) == obj


def test_known_enum_values_become_members() -> None:
    customer = decode_customer(sample(gender="male", type="recreational", ethnicity="asian"))
    assert customer.gender is Gender.MALE
    assert customer.type is CustomerType.RECREATIONAL
    assert customer.ethnicity is Ethnicity.ASIAN


def test_encoding_gives_plain_strings_for_members_and_raw_values() -> None:
    encoded = encode_customer(Customer(1, gender=Gender.OTHER, type="wholesale"))
    assert encoded["gender"] == "other"
    assert type(encoded["gender"]) is str
    assert encoded["type"] == "wholesale"


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "2024-13-01",
        "2024-1-1",
        "20240101",
        20240101,
        "2024-02-30",
        "2024-W01-1",
        "2024-01-01T00:00:00",
        " 2024-01-01",
        "2024/01/01",
        "\uff12\uff10\uff12\uff14-01-01",  # full-width digits
        "",
        True,
        ["2024-01-01"],
    ],
)
@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("date_of_birth", "date_of_birth"),
        ("email_consent_date", "email_consent_date"),
        ("phone_consent_date", "phone_consent_date"),
        ("recommendation.valid_from", "recommendation.valid_from"),
        ("recommendation.valid_to", "recommendation.valid_to"),
        ("recommendation.state_id_expires_on", "recommendation.state_id_expires_on"),
    ],
)
def test_malformed_dates_are_rejected_with_their_path(bad: object, field: str, path: str) -> None:
    obj = sample()
    if "." in field:
        parent, name = field.split(".")
        obj[parent][name] = bad
    else:
        obj[field] = bad
    error = decode_error(obj)
    assert error.field == path
    assert error.expected == "date"


def test_date_cache_does_not_change_results() -> None:
    first = decode_customer(sample(date_of_birth="1999-12-31"))
    second = decode_customer(sample(date_of_birth="1999-12-31"))
    assert first.date_of_birth == second.date_of_birth == dt.date(1999, 12, 31)
    assert decode_error(sample(date_of_birth="1999-12-32")).field == "date_of_birth"


def test_date_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_converters, "_DATE_CACHE_SIZE", 3)
    for day in range(1, 10):
        decode_customer({"id": 1, "date_of_birth": f"2001-01-{day:02d}"})
        assert len(_converters._DATES) <= 3


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


@given(st.text(max_size=12) | st.dates().map(dt.date.isoformat))
def test_dates_are_exactly_yyyy_mm_dd(text: str) -> None:
    try:
        expected: dt.date | None = (
            dt.date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else None
        )
    except ValueError:
        expected = None
    obj = {"id": 1, "date_of_birth": text}
    if expected is None:
        assert decode_error(obj).field == "date_of_birth"
    else:
        assert decode_customer(obj).date_of_birth == expected


# --- wrong types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path", "expected"),
    [
        ({"id": True}, "id", "int"),
        ({"id": 1.0}, "id", "int"),
        ({"id": "12345"}, "id", "int"),
        ({"id": None}, "id", "int"),
        ({"first_name": 5}, "first_name", "str"),
        ({"state_id": 987654}, "state_id", "str"),
        ({"email": ["a@b.c"]}, "email", "str"),
        ({"has_medical_recommendation": "true"}, "has_medical_recommendation", "bool"),
        ({"text_messages_allowed": 0}, "text_messages_allowed", "bool"),
        ({"weight": True}, "weight", "int | float"),
        ({"weight": "65"}, "weight", "int | float"),
        ({"manual_groups": "101"}, "manual_groups", "list[int]"),
        ({"manual_groups": {"101": 1}}, "manual_groups", "list[int]"),
        ({"manual_groups": [101, "203"]}, "manual_groups[1]", "int"),
        ({"auto_groups": [True]}, "auto_groups[0]", "int"),
        ({"auto_groups": [1.0]}, "auto_groups[0]", "int"),
        ({"gender": 1}, "gender", "str"),
        ({"type": ["medical"]}, "type", "str"),
        ({"ethnicity": False}, "ethnicity", "str"),
        ({"preferred_language": {}}, "preferred_language", "str"),
        ({"address": ["456 Sunset Blvd"]}, "address", "Address"),
        ({"address": "456 Sunset Blvd"}, "address", "Address"),
        ({"recommendation": []}, "recommendation", "Recommendation"),
        ({"address": {"zip": 90026}}, "address.zip", "str"),
        ({"recommendation": {"number": 987654}}, "recommendation.number", "str"),
    ],
)
def test_wrong_types_are_rejected_with_path_and_type(
    changes: dict[str, Any], path: str, expected: str
) -> None:
    error = decode_error(sample(**changes))
    assert isinstance(error, APIError)
    assert (error.field, error.expected) == (path, expected)
    assert str(error).startswith(f"{path}: ")
    assert expected in str(error)


def test_missing_id_is_reported_as_missing() -> None:
    obj = sample()
    del obj["id"]
    error = decode_error(obj)
    assert (error.field, error.expected) == ("id", "int")
    assert "missing" in str(error)


def test_int_weight_and_decimal_weight_are_kept_as_given() -> None:
    assert type(decode_customer(sample(weight=65)).weight) is int
    decimal = decode_customer(sample(weight=65.5)).weight
    assert type(decimal) is float
    assert decimal == 65.5


def test_huge_ids_are_ints() -> None:
    assert decode_customer({"id": 2**100}).id == 2**100


@pytest.mark.parametrize("top", [None, [], "customer", 12345, 1.5, True, [SAMPLE]])
def test_top_level_must_be_an_object(top: object) -> None:
    error = decode_error(top)
    assert error.field == ""
    assert error.expected == "Customer"


def test_subclasses_of_json_types_are_accepted() -> None:
    class Text(str):
        pass

    class Mapping(dict):  # type: ignore[type-arg]
        pass

    customer = decode_customer(
        Mapping(id=1, first_name=Text("Jane"), gender=Text("female"), type=Text("new"))
    )
    assert customer.first_name == "Jane"
    assert customer.gender is Gender.FEMALE
    assert customer.type == "new"
    assert orjson.loads(customer_to_json(customer))["type"] == "new"


# --- the value never appears in an error --------------------------------------------------

SECRET = "Zq7-SECRET-not-for-logs"
SECRET_NUMBER = 987654321987


@pytest.mark.parametrize(
    ("changes", "secret"),
    [
        ({"first_name": SECRET_NUMBER}, SECRET_NUMBER),
        ({"id": SECRET}, SECRET),
        ({"date_of_birth": SECRET}, SECRET),
        ({"date_of_birth": "2024-13-01"}, "2024-13-01"),
        ({"weight": SECRET}, SECRET),
        ({"has_medical_recommendation": SECRET}, SECRET),
        ({"manual_groups": [1, SECRET]}, SECRET),
        ({"manual_groups": SECRET}, SECRET),
        ({"gender": SECRET_NUMBER}, SECRET_NUMBER),
        ({"address": {"zip": SECRET_NUMBER}}, SECRET_NUMBER),
        ({"address": [SECRET]}, SECRET),
        ({"recommendation": SECRET}, SECRET),
    ],
)
def test_errors_never_contain_the_value(changes: dict[str, Any], secret: object) -> None:
    for call in (
        lambda: decode_customer(sample(**changes)),
        lambda: decode_customer(sample(**changes), strict=True),
        lambda: decode_customers([SAMPLE, sample(**changes)]),
    ):
        with pytest.raises(DecodeError) as info:
            call()
        for text in (str(info.value), repr(info.value), str(info.value.args)):
            assert str(secret) not in text
        assert info.value.__cause__ is None or str(secret) not in str(info.value.__cause__)


def test_top_level_errors_never_contain_the_value() -> None:
    for value in (SECRET, [SECRET], SECRET_NUMBER):
        for decode in (decode_customer, decode_customers):
            with pytest.raises(DecodeError) as info:
                decode(value)
            assert str(value) not in str(info.value)
            assert str(value) not in repr(info.value)


# --- lists --------------------------------------------------------------------------------


def test_decode_customers() -> None:
    items = [SAMPLE, {"id": 2}, sample(id=3, gender="nonbinary")]
    customers = decode_customers(items)
    assert [c.id for c in customers] == [1 + 12344, 2, 3]
    assert customers[2].gender == "nonbinary"
    assert decode_customers([]) == []


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        (sample(address={"zip": 90026}), "[3].address.zip"),
        (sample(manual_groups=[1, None]), "[3].manual_groups[1]"),
        (sample(id=None), "[3].id"),
        ("not an object", "[3]"),
        ([SAMPLE], "[3]"),
    ],
)
def test_decode_customers_prefixes_paths_with_the_index(bad: object, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_customers([SAMPLE, SAMPLE, {"id": 9}, bad, sample(id="also bad")])
    assert info.value.field == path
    assert str(info.value).startswith(f"{path}: ")
    # The message keeps the detail of the inner error, once.
    assert str(info.value).count(":") == 1


@pytest.mark.parametrize("top", [None, {"data": [SAMPLE]}, "[]", 3, SAMPLE])
def test_decode_customers_needs_a_list(top: object) -> None:
    with pytest.raises(DecodeError) as info:
        decode_customers(top)
    assert (info.value.field, info.value.expected) == ("", "list")


# --- the converter ------------------------------------------------------------------------


def test_converter_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    decode_customer(SAMPLE, strict=True)  # builds the strict converter, once

    def fail(**_: Any) -> None:
        raise AssertionError("converter rebuilt")

    monkeypatch.setattr(_converters, "make_converter", fail)
    for strict in (False, True):
        decode_customer(SAMPLE, strict=strict)
        decode_customers([SAMPLE], strict=strict)
    assert _converters._strict_structure_customer() is _converters._strict_structure_customer()


def test_converter_uses_the_generated_hooks() -> None:
    converter = _converters._CONVERTER
    assert converter.structure(SAMPLE, Customer) == decode_customer(SAMPLE)
    assert converter.unstructure(decode_customer(SAMPLE)) == SAMPLE
    with pytest.raises(DecodeError):
        converter.structure(sample(id=True), Customer)
    assert orjson.loads(converter.dumps(decode_customer(SAMPLE))) == SAMPLE


@pytest.mark.parametrize("stock", [STOCK, STOCK_DETAILED], ids=["stock", "stock-detailed"])
def test_fast_path_agrees_with_stock_cattrs_on_the_sample(stock: Any) -> None:
    assert_identical(decode_customer(SAMPLE), stock.structure(SAMPLE, Customer))


# --- properties ---------------------------------------------------------------------------


@given(strategies.customers())
def test_valid_customers_decode_and_round_trip(obj: dict[str, Any]) -> None:
    customer = decode_customer(obj)
    assert customer.id == obj["id"]
    assert encode_customer(customer) == strategies.expected_encoding(obj)
    assert decode_customer(encode_customer(customer), strict=True) == customer


@given(strategies.customers())
def test_fast_path_agrees_with_stock_cattrs(obj: dict[str, Any]) -> None:
    ours = decode_customer(obj)
    assert_identical(ours, STOCK.structure(obj, Customer))
    assert_identical(ours, STOCK_DETAILED.structure(obj, Customer))


@given(strategies.customers(unknown_fields=True))
def test_unknown_fields_never_change_the_result(obj: dict[str, Any]) -> None:
    known = {k: v for k, v in obj.items() if k in strategies.CUSTOMER_FIELDS or k == "id"}
    assert decode_customer(obj) == decode_customer(known)
    if len(known) < len(obj):
        with pytest.raises(DecodeError):
            decode_customer(obj, strict=True)


@given(strategies.invalid_customers())
def test_invalid_customers_name_the_field(case: tuple[dict[str, Any], str, str]) -> None:
    obj, path, expected = case
    error = decode_error(obj)
    assert (error.field, error.expected) == (path, expected)
    with pytest.raises(DecodeError) as info:
        decode_customers([{"id": 0}, obj])
    assert info.value.field == f"[1].{path}"


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(strategies.json_values() | strategies.near_customers(), st.booleans())
def test_any_json_decodes_or_raises_decode_error(value: Any, strict: bool) -> None:
    errors: list[DecodeError] = []
    for decode in (decode_customer, decode_customers):
        try:
            decode(value, strict=strict)
        except DecodeError as error:
            errors.append(error)
    assert all(isinstance(error.field, str) for error in errors)
    try:
        decode_customers([value, value], strict=strict)
    except DecodeError as error:
        errors = [error]
    else:
        errors = []
    assert all((error.field or "").startswith("[0]") for error in errors)
