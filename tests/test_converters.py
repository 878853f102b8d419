from __future__ import annotations

import concurrent.futures
import copy
import datetime as dt
import enum
import json
import pathlib
import re
import threading
from typing import Any

import attrs
import orjson
import pytest
import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indica_async import converter, customer_to_dict
from indica_async._converters import (
    customer_to_json,
    decode_customer,
    decode_customer_body,
    decode_customers,
    decode_list_body,
)
from indica_async._errors import APIError, DecodeError
from indica_async.models import (
    _UNLISTED,
    Address,
    Customer,
    CustomerType,
    Ethnicity,
    Gender,
    PreferredLanguage,
    Recommendation,
    _decoding_one_body,
)

SAMPLE_PATH = pathlib.Path(__file__).parent / "samples" / "vendor_customer.json"
SAMPLE: dict[str, Any] = json.loads(SAMPLE_PATH.read_text())


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
    encoded = customer_to_dict(decode_customer(SAMPLE))
    assert encoded == SAMPLE
    assert list(encoded) == list(SAMPLE)
    assert type(encoded["gender"]) is str
    assert type(encoded["recommendation"]["valid_to"]) is str
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
    assert customer_to_dict(customer) == obj


def test_every_optional_field_missing() -> None:
    customer = decode_customer({"id": 1})
    assert customer == Customer(1)
    assert customer_to_dict(customer) == {name: (1 if name == "id" else None) for name in SAMPLE}


def test_nested_objects_with_nulls_and_missing_fields() -> None:
    customer = decode_customer(sample(recommendation={"number": None}, address={}))
    assert customer.recommendation == Recommendation()
    assert customer.address == Address()


def test_unknown_fields_are_ignored_by_default() -> None:
    obj = sample(loyalty_points=12, address={**SAMPLE["address"], "country": "US"})
    assert decode_customer(obj) == decode_customer(SAMPLE)


@pytest.mark.parametrize(
    ("obj", "path", "name"),
    [
        (sample(loyalty_points=12), "$", "loyalty_points"),
        (sample(address={**SAMPLE["address"], "country": "US"}), "$.address", "country"),
        (sample(recommendation={"issuer": "Dr. X"}), "$.recommendation", "issuer"),
    ],
)
def test_strict_mode_rejects_unknown_fields(obj: dict[str, Any], path: str, name: str) -> None:
    error = decode_error(obj, strict=True)
    assert error.field == path
    assert f"at `{path}`" in str(error)
    assert "unknown field" in str(error).lower()
    assert name not in str(error)
    with pytest.raises(DecodeError) as info:
        decode_customers([SAMPLE, obj], strict=True)
    assert info.value.field == f"$[1]{path[1:]}"
    with pytest.raises(DecodeError) as info:
        decode_list_body(orjson.dumps({"data": [SAMPLE, obj]}), strict=True)
    assert info.value.field == f"$.data[1]{path[1:]}"
    assert name not in str(info.value)


def test_strict_mode_accepts_known_fields() -> None:
    assert decode_customer(SAMPLE, strict=True) == decode_customer(SAMPLE)
    assert decode_customers([SAMPLE], strict=True) == [decode_customer(SAMPLE)]
    body = orjson.dumps(SAMPLE)
    assert decode_customer_body(body, strict=True) == decode_customer(SAMPLE)


def test_strict_mode_never_names_the_unknown_field() -> None:
    # Keys are data too: a drifting server may key an object by an email address.
    error = decode_error(sample(**{"jenny@example.com": 1, "zeta": 2}), strict=True)
    for text in (str(error), repr(error), str(error.args)):
        assert "jenny" not in text
        assert "zeta" not in text


# --- open enums ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gender", "type", "ethnicity", "preferred_language"])
def test_unknown_enum_values_keep_the_raw_string_and_round_trip(name: str) -> None:
    obj = sample(**{name: "something_new"})
    value = getattr(decode_customer(obj), name)
    assert value == "something_new"
    assert isinstance(value, str)
    assert str(value) == f"{value}" == value.value == "something_new"
    assert type(value.value) is str
    enum_class = type(getattr(decode_customer(SAMPLE), name))
    assert isinstance(value, enum_class)
    assert value not in list(enum_class)  # unlisted: the class does not grow
    assert hash(value) == hash("something_new")
    assert customer_to_dict(decode_customer(obj)) == obj
    assert type(customer_to_dict(decode_customer(obj))[name]) is str
    assert getattr(decode_list_body(orjson.dumps([obj]))[0], name) == "something_new"


def test_known_enum_values_become_members() -> None:
    customer = decode_customer(sample(gender="male", type="recreational", ethnicity="asian"))
    assert customer.gender is Gender.MALE
    assert customer.type is CustomerType.RECREATIONAL
    assert customer.ethnicity is Ethnicity.ASIAN


def test_encoding_gives_plain_strings_for_members_and_raw_values() -> None:
    encoded = customer_to_dict(
        Customer(1, gender=Gender.OTHER, type=CustomerType("wholesale"), ethnicity="new")  # type: ignore[arg-type]
    )
    assert encoded["gender"] == "other"
    assert type(encoded["gender"]) is str
    assert encoded["type"] == "wholesale"
    assert type(encoded["type"]) is str
    assert encoded["ethnicity"] == "new"


def test_open_enums_accept_any_string_and_only_strings() -> None:
    assert Gender("female") is Gender.FEMALE
    assert Gender("nonbinary") == "nonbinary"
    assert Gender("nonbinary") is not Gender("nonbinary")  # no process-wide cache
    with pytest.raises(ValueError, match="not a valid Gender"):
        Gender(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unhashable"):
        Gender(["female"])  # type: ignore[arg-type]


def test_an_unknown_value_is_made_once_per_body_and_never_kept_beyond_it() -> None:
    body = orjson.dumps(
        [sample(id=i, gender="nonbinary", ethnicity="nonbinary") for i in range(1, 4)]
    )
    first, second = decode_list_body(body), decode_list_body(body)
    genders = {id(customer.gender) for customer in first}
    assert len(genders) == 1  # one object for the whole body
    # The same text in another enum is an instance of that enum, not the Gender.
    assert type(first[0].ethnicity) is Ethnicity
    assert type(first[0].gender) is Gender
    assert first[0].ethnicity == first[0].gender == "nonbinary"
    # The next body makes its own: nothing outlives one decode.
    assert first[0].gender is not second[0].gender
    assert all(len(made) == 0 for made in _UNLISTED)
    assert Gender("nonbinary") is not first[0].gender


def test_unknown_values_made_outside_a_decode_are_not_kept() -> None:
    assert Gender("zeta") is not Gender("zeta")
    assert CustomerType("zeta") == "zeta"
    assert all(len(made) == 0 for made in _UNLISTED)


def test_decodes_in_threads_come_out_right_and_leave_none_behind() -> None:
    bodies = [
        orjson.dumps([sample(id=i, gender=f"g{n}", type=f"t{n}") for i in range(1, 200)])
        for n in range(8)
    ]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        # Each body three times over, so decodes overlap and one's end empties the dicts
        # while others are still decoding.
        pages = list(pool.map(decode_list_body, bodies * 3))
    for index, page in enumerate(pages):
        n = index % len(bodies)
        assert {(type(c.gender), c.gender, type(c.type), c.type) for c in page} == {
            (Gender, f"g{n}", CustomerType, f"t{n}")
        }
    assert all(len(made) == 0 for made in _UNLISTED)


def test_decoding_parsed_json_shares_unknown_values_as_a_body_does() -> None:
    customers = decode_customers([sample(id=i, gender="nonbinary") for i in range(1, 4)])
    assert len({id(customer.gender) for customer in customers}) == 1
    assert all(len(made) == 0 for made in _UNLISTED)


def test_a_value_made_in_another_thread_during_a_decode_is_not_kept() -> None:
    inside, leave = threading.Event(), threading.Event()

    def decoding() -> None:
        with _decoding_one_body():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=decoding)
    thread.start()
    try:
        assert inside.wait(5)
        # This thread is not decoding: what it makes is its own, even while the other is.
        assert Gender("zeta") is not Gender("zeta")
        assert all(len(made) == 0 for made in _UNLISTED)
    finally:
        leave.set()
        thread.join(5)
    assert not thread.is_alive()


def test_a_failed_decode_leaves_no_unknown_values_behind() -> None:
    bad = orjson.dumps([sample(id=1, gender="nonbinary"), sample(id="two")])
    with pytest.raises(DecodeError):
        decode_list_body(bad)
    assert all(len(made) == 0 for made in _UNLISTED)


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
    assert error.field == f"$.{path}"
    assert error.expected in ("date", "date | null")
    with pytest.raises(DecodeError) as info:
        decode_list_body(orjson.dumps([obj]))
    assert (info.value.field, info.value.expected) == (f"$[0].{path}", error.expected)


def test_repeated_dates_decode_alike() -> None:
    first = decode_customer(sample(date_of_birth="1999-12-31"))
    second = decode_customer(sample(date_of_birth="1999-12-31"))
    assert first.date_of_birth == second.date_of_birth == dt.date(1999, 12, 31)
    assert decode_error(sample(date_of_birth="1999-12-32")).field == "$.date_of_birth"


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
        assert decode_error(obj).field == "$.date_of_birth"
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
        ({"first_name": 5}, "first_name", "str | null"),
        ({"state_id": 987654}, "state_id", "str | null"),
        ({"email": ["a@b.c"]}, "email", "str | null"),
        ({"has_medical_recommendation": "true"}, "has_medical_recommendation", "bool | null"),
        ({"text_messages_allowed": 0}, "text_messages_allowed", "bool | null"),
        ({"weight": True}, "weight", "int | float | null"),
        ({"weight": "65"}, "weight", "int | float | null"),
        ({"manual_groups": "101"}, "manual_groups", "array | null"),
        ({"manual_groups": {"101": 1}}, "manual_groups", "array | null"),
        ({"manual_groups": [101, "203"]}, "manual_groups[1]", "int"),
        ({"auto_groups": [True]}, "auto_groups[0]", "int"),
        ({"auto_groups": [1.0]}, "auto_groups[0]", "int"),
        ({"gender": 1}, "gender", "str | null"),
        ({"type": ["medical"]}, "type", "str | null"),
        ({"ethnicity": False}, "ethnicity", "str | null"),
        ({"preferred_language": {}}, "preferred_language", "str | null"),
        ({"address": ["456 Sunset Blvd"]}, "address", "object | null"),
        ({"address": "456 Sunset Blvd"}, "address", "object | null"),
        ({"recommendation": []}, "recommendation", "object | null"),
        ({"address": {"zip": 90026}}, "address.zip", "str | null"),
        ({"recommendation": {"number": 987654}}, "recommendation.number", "str | null"),
    ],
)
def test_wrong_types_are_rejected_with_path_and_type(
    changes: dict[str, Any], path: str, expected: str
) -> None:
    error = decode_error(sample(**changes))
    assert isinstance(error, APIError)
    assert (error.field, error.expected) == (f"$.{path}", expected)
    assert str(error).startswith(f"Expected `{expected}`, got `")
    assert str(error).endswith(f" - at `$.{path}`")
    for body, prefix in ((orjson.dumps([SAMPLE, sample(**changes)]), "$[1]"),):
        with pytest.raises(DecodeError) as info:
            decode_list_body(body)
        assert (info.value.field, info.value.expected) == (f"{prefix}.{path}", expected)
    with pytest.raises(DecodeError) as info:
        decode_customer_body(orjson.dumps(sample(**changes)))
    assert (info.value.field, info.value.expected) == (f"$.{path}", expected)


def test_missing_id_is_reported_as_missing() -> None:
    obj = sample()
    del obj["id"]
    error = decode_error(obj)
    assert (error.field, error.expected) == ("$.id", "int")
    assert "missing" in str(error)
    with pytest.raises(DecodeError) as info:
        decode_list_body(orjson.dumps([SAMPLE, obj]))
    assert (info.value.field, info.value.expected) == ("$[1].id", "int")


def test_int_weight_and_decimal_weight_are_kept_as_given() -> None:
    assert type(decode_customer(sample(weight=65)).weight) is int
    decimal = decode_customer(sample(weight=65.5)).weight
    assert type(decimal) is float
    assert decimal == 65.5


def test_huge_ids_are_ints() -> None:
    assert decode_customer({"id": 2**100}).id == 2**100
    assert decode_customer_body(b'{"id": %d}' % 2**100).id == 2**100


@pytest.mark.parametrize("top", [None, [], "customer", 12345, 1.5, True, [SAMPLE]])
def test_top_level_must_be_an_object(top: object) -> None:
    error = decode_error(top)
    assert error.field == "$"
    assert error.expected == "object"


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
    assert type(customer.type.value) is str  # type: ignore[union-attr]
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
        lambda: decode_list_body(orjson.dumps([SAMPLE, sample(**changes)]), strict=True),
        lambda: decode_customer_body(orjson.dumps(sample(**changes))),
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
    assert info.value.field == f"${path}"
    assert str(info.value).endswith(f" - at `${path}`")
    # The message holds the detail of the first error, once.
    assert str(info.value).count(" - at ") == 1


@pytest.mark.parametrize("top", [None, {"data": [SAMPLE]}, "[]", 3, SAMPLE])
def test_decode_customers_needs_a_list(top: object) -> None:
    with pytest.raises(DecodeError) as info:
        decode_customers(top)
    assert (info.value.field, info.value.expected) == ("$", "array")


# --- the converter ------------------------------------------------------------------------


def test_public_converter_encodes_and_structures_the_models() -> None:
    customer = decode_customer(SAMPLE)
    assert converter.structure(SAMPLE, Customer) == customer
    assert converter.unstructure(customer) == SAMPLE == customer_to_dict(customer)
    assert orjson.loads(converter.dumps(customer)) == SAMPLE
    assert converter.structure(sample(gender="new"), Customer).gender == "new"


def test_decode_agrees_with_the_cattrs_converter_on_the_sample() -> None:
    assert_identical(
        decode_customer_body(orjson.dumps(SAMPLE)), converter.structure(SAMPLE, Customer)
    )


# --- recorded results of the converter this decode replaced ------------------------------

RECORDED = json.loads((SAMPLE_PATH.parent / "sandbox_decoded.json").read_text())


def as_recorded(value: Any) -> Any:
    """A decoded value in the recorded form: each leaf as ``[type name, value]``."""
    if attrs.has(type(value)):
        return {a.name: as_recorded(getattr(value, a.name)) for a in attrs.fields(type(value))}
    if isinstance(value, enum.Enum):
        if value.value not in type(value)._value2member_map_:
            # On purpose: an unknown value was a plain str, it is an unlisted member now.
            return ["str", value.value]
        return [type(value).__name__, value.value]
    if isinstance(value, tuple):
        return ["tuple", [as_recorded(x) for x in value]]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    return [type(value).__name__, value]


def test_decode_matches_the_recorded_results_of_the_old_converter() -> None:
    cases = RECORDED["cases"]
    assert len(cases) == 60
    assert any(c["decoded"]["ethnicity"][0] == "str" for c in cases)  # unknown values too
    page = decode_list_body(orjson.dumps([c["body"] for c in cases]))
    for case, customer in zip(cases, page, strict=True):
        assert as_recorded(customer) == case["decoded"]
        assert as_recorded(decode_customer_body(orjson.dumps(case["body"]))) == case["decoded"]
        assert customer_to_dict(customer) == strategies.expected_encoding(case["body"])


# --- properties ---------------------------------------------------------------------------


@given(strategies.customers())
def test_valid_customers_decode_and_round_trip(obj: dict[str, Any]) -> None:
    customer = decode_list_body(json.dumps([obj]).encode())[0]
    assert customer.id == obj["id"]
    encoded = customer_to_dict(customer)
    assert encoded == strategies.expected_encoding(obj)
    # decode(encode(x)) == x, through JSON text and in strict mode.
    assert decode_customer_body(json.dumps(encoded).encode(), strict=True) == customer
    assert decode_customer(encoded, strict=True) == customer


@given(strategies.customers())
def test_decode_agrees_with_the_cattrs_converter(obj: dict[str, Any]) -> None:
    # cattrs builds the same models from parsed JSON by a different road: an independent
    # reference for values and types.
    assert_identical(
        decode_list_body(json.dumps([obj]).encode())[0], converter.structure(obj, Customer)
    )


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
    assert error.field == path
    assert error.expected in (expected, f"{expected} | null")
    with pytest.raises(DecodeError) as info:
        decode_customers([{"id": 0}, obj])
    assert info.value.field == f"$[1]{path[1:]}"


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
    assert all((error.field or "").startswith("$[0]") for error in errors)
