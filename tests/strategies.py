"""Hypothesis strategies for customer JSON, valid and not.

``customers()`` draws objects in the API's JSON shape where every optional field is, at
random, a value, null, or missing. ``invalid_customers()`` breaks exactly one field and
says which path the decode error must name. ``json_values()`` is any JSON at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from indica_async.models import CustomerType, Ethnicity, Gender, PreferredLanguage

_MISSING = object()

ints = st.integers()
# Huge values too: the decoder must not care about magnitude.
big_ints = st.integers() | st.integers(min_value=2**63, max_value=2**200)
texts = st.text(max_size=30)
iso_dates = st.dates().map(dt.date.isoformat)
numbers = st.integers(min_value=-(10**6), max_value=10**6) | st.floats(
    allow_nan=False, allow_infinity=False
)
group_ids = st.lists(st.integers(min_value=0, max_value=2**40), max_size=6)


def open_enum(cls: type[Any]) -> st.SearchStrategy[str]:
    """A known wire value of ``cls`` or any other string (the API may add values)."""
    return st.sampled_from([m.value for m in cls]) | texts


RECOMMENDATION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "number": texts,
    "valid_from": iso_dates,
    "valid_to": iso_dates,
    "state_id_expires_on": iso_dates,
}

ADDRESS_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "street_address_1": texts,
    "street_address_2": texts,
    "city": texts,
    "state": texts,
    "zip": texts,
}


def _object(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects whose fields are each a value, null, or missing."""
    maybe = {name: st.one_of(st.just(_MISSING), st.none(), s) for name, s in fields.items()}
    return st.fixed_dictionaries(maybe).map(
        lambda d: {k: v for k, v in d.items() if v is not _MISSING}
    )


CUSTOMER_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "first_name": texts,
    "last_name": texts,
    "middle_name": texts,
    "date_of_birth": iso_dates,
    "phone": texts,
    "email": texts,
    "comment": texts,
    "has_medical_recommendation": st.booleans(),
    "recommendation": _object(RECOMMENDATION_FIELDS),
    "state_id": texts,
    "alternative_id": texts,
    "passport": texts,
    "gender": open_enum(Gender),
    "weight": numbers,
    "height": texts,
    "type": open_enum(CustomerType),
    "ethnicity": open_enum(Ethnicity),
    "preferred_language": open_enum(PreferredLanguage),
    "manual_groups": group_ids,
    "auto_groups": group_ids,
    "home_phone": texts,
    "office_phone": texts,
    "fax": texts,
    "address": _object(ADDRESS_FIELDS),
    "mail_messages_allowed": st.booleans(),
    "email_messages_allowed": st.booleans(),
    "text_messages_allowed": st.booleans(),
    "call_messages_allowed": st.booleans(),
    "email_consent_date": iso_dates,
    "phone_consent_date": iso_dates,
}

_NESTED = {"recommendation": RECOMMENDATION_FIELDS, "address": ADDRESS_FIELDS}


@st.composite
def customers(draw: st.DrawFn, *, unknown_fields: bool = False) -> dict[str, Any]:
    """A valid customer object; with ``unknown_fields``, also keys the models do not know."""
    obj: dict[str, Any] = {"id": draw(big_ints)}
    obj.update(draw(_object(CUSTOMER_FIELDS)))
    if unknown_fields:
        extra = draw(
            st.dictionaries(
                texts.filter(lambda k: k not in CUSTOMER_FIELDS and k != "id"),
                json_values(),
                max_size=3,
            )
        )
        obj.update(extra)
    return obj


def expected_encoding(obj: dict[str, Any]) -> dict[str, Any]:
    """What ``customer_to_dict`` gives for a decoded valid ``obj``: every field, nulls kept."""
    out: dict[str, Any] = {"id": obj["id"]}
    for name in CUSTOMER_FIELDS:
        value = obj.get(name)
        if name in _NESTED and value is not None:
            value = {field: value.get(field) for field in _NESTED[name]}
        out[name] = value
    return out


# One wrong value per kind of field, with the type name the error must report (a field
# that may be null reports "<name> | null" for a value of the wrong JSON type).
_WRONG: dict[str, tuple[st.SearchStrategy[Any], str]] = {
    "str": (big_ints | st.booleans() | st.lists(texts, max_size=2) | st.floats(), "str"),
    "bool": (ints | texts | st.floats() | st.lists(ints, max_size=2), "bool"),
    "date": (
        ints
        | st.sampled_from(["2024-13-01", "2024-1-1", "20240101", "2024-02-30", "2024-W01-1"])
        | texts.filter(lambda s: len(s) != 10),
        "date",
    ),
    "number": (st.booleans() | texts | st.lists(ints, max_size=2), "int | float"),
    "groups": (texts | ints | st.dictionaries(texts, ints, max_size=2), "array"),
    "enum": (ints | st.booleans() | st.lists(texts, max_size=2), "str"),
    "recommendation": (st.lists(ints, max_size=2) | texts | ints | st.booleans(), "object"),
    "address": (st.lists(texts, max_size=2) | texts | ints | st.booleans(), "object"),
}

_KIND = {
    "has_medical_recommendation": "bool",
    "mail_messages_allowed": "bool",
    "email_messages_allowed": "bool",
    "text_messages_allowed": "bool",
    "call_messages_allowed": "bool",
    "date_of_birth": "date",
    "email_consent_date": "date",
    "phone_consent_date": "date",
    "valid_from": "date",
    "valid_to": "date",
    "state_id_expires_on": "date",
    "weight": "number",
    "manual_groups": "groups",
    "auto_groups": "groups",
    "gender": "enum",
    "type": "enum",
    "ethnicity": "enum",
    "preferred_language": "enum",
    "recommendation": "recommendation",
    "address": "address",
}


@st.composite
def invalid_customers(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    """A customer with exactly one wrong field: ``(obj, field path, expected type name)``.

    The path is the decoder's (``$.address.zip``); the name is the expected type without
    its ``| null``.
    """
    obj = draw(customers())
    target = draw(
        st.sampled_from(
            ["id", *CUSTOMER_FIELDS, *(f"recommendation.{f}" for f in RECOMMENDATION_FIELDS)]
            + [f"address.{f}" for f in ADDRESS_FIELDS]
            + ["manual_groups[]"]
        )
    )
    if target == "id":
        bad = draw(st.none() | st.booleans() | st.floats() | texts | st.just(_MISSING))
        if bad is _MISSING:
            del obj["id"]
        else:
            obj["id"] = bad
        return obj, "$.id", "int"
    if target == "manual_groups[]":
        good = draw(group_ids)
        index = draw(st.integers(min_value=0, max_value=len(good)))
        wrong = draw(texts | st.booleans() | st.floats() | st.none() | st.lists(ints, max_size=1))
        obj["manual_groups"] = [*good[:index], wrong, *good[index:]]
        return obj, f"$.manual_groups[{index}]", "int"
    parent, _, name = target.rpartition(".")
    container = obj
    if parent:
        container = dict(obj.get(parent) or {})
        obj[parent] = container
    wrong_values, expected = _WRONG[_KIND.get(name, "str")]
    container[name] = draw(wrong_values)
    return obj, f"$.{target}", expected


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON value: nulls, booleans, numbers (huge ints too), strings, arrays, objects."""
    scalars = st.none() | st.booleans() | big_ints | st.floats() | texts
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def near_customers() -> st.SearchStrategy[Any]:
    """Objects shaped almost like customers: known keys with arbitrary JSON values."""
    keys = st.sampled_from(["id", *CUSTOMER_FIELDS])
    nested = st.fixed_dictionaries(
        {}, optional={k: json_values(4) for k in [*ADDRESS_FIELDS, *RECOMMENDATION_FIELDS]}
    )
    return st.dictionaries(keys, json_values(6) | nested, max_size=12)
