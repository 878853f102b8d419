from __future__ import annotations

import ast
import datetime as dt
import enum
import json
import pathlib
import typing

import attrs
import pytest

from indica_async import models
from indica_async.models import (
    Address,
    Customer,
    CustomerType,
    Ethnicity,
    Gender,
    PreferredLanguage,
    Recommendation,
)

SAMPLE = json.loads(
    (pathlib.Path(__file__).parent / "samples" / "vendor_customer.json").read_text()
)


def test_fields_follow_the_vendor_sample_in_order() -> None:
    assert [a.name for a in attrs.fields(Customer)] == list(SAMPLE)
    assert [a.name for a in attrs.fields(Recommendation)] == list(SAMPLE["recommendation"])
    assert [a.name for a in attrs.fields(Address)] == list(SAMPLE["address"])


def test_id_is_the_only_required_field() -> None:
    with pytest.raises(TypeError):
        Customer()  # type: ignore[call-arg]
    customer = Customer(7)
    assert customer.id == 7
    assert all(getattr(customer, a.name) is None for a in attrs.fields(Customer)[1:])
    assert Recommendation() == Recommendation(None, None, None, None)
    assert Address() == Address(None, None, None, None, None)


@pytest.mark.parametrize("cls", [Customer, Address, Recommendation])
def test_models_are_frozen_and_slotted(cls: type) -> None:
    instance = cls(1) if cls is Customer else cls()
    assert not hasattr(instance, "__dict__")
    first = attrs.fields(cls)[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(instance, first, None)
    assert hash(instance) == hash(cls(1) if cls is Customer else cls())


def test_field_types() -> None:
    hints = typing.get_type_hints(Customer)
    for name in (
        "date_of_birth",
        "email_consent_date",
        "phone_consent_date",
    ):
        assert hints[name] == dt.date | None
    for name in ("valid_from", "valid_to", "state_id_expires_on"):
        assert typing.get_type_hints(Recommendation)[name] == dt.date | None
    assert hints["id"] is int
    assert hints["weight"] == int | float | None
    assert hints["manual_groups"] == hints["auto_groups"] == tuple[int, ...] | None
    assert hints["gender"] == Gender | None
    assert hints["type"] == CustomerType | None
    assert hints["ethnicity"] == Ethnicity | None
    assert hints["preferred_language"] == PreferredLanguage | None
    assert hints["recommendation"] == Recommendation | None
    assert hints["address"] == Address | None


def test_enum_members() -> None:
    assert {m.value for m in Gender} == {"male", "female", "other"}
    assert {m.value for m in CustomerType} == {"recreational", "medical", "medical_with_rec"}
    assert Ethnicity("latino_or_hispanic") is Ethnicity.LATINO_OR_HISPANIC
    assert PreferredLanguage("english") is PreferredLanguage.ENGLISH
    assert {"spanish", "other"} <= {m.value for m in PreferredLanguage}


@pytest.mark.parametrize("cls", [Gender, CustomerType, Ethnicity, PreferredLanguage])
def test_enums_are_strings_that_print_their_wire_value(cls: type[enum.Enum]) -> None:
    for member in cls:
        assert isinstance(member, str)
        assert member == member.value
        assert str(member) == f"{member}" == member.value


def test_models_module_is_pure() -> None:
    tree = ast.parse(pathlib.Path(models.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported <= {
        "attrs",
        "collections",
        "contextlib",
        "contextvars",
        "datetime",
        "enum",
        "typing",
        "__future__",
    }


def test_docstrings() -> None:
    for cls in (Customer, Address, Recommendation, Gender, CustomerType, Ethnicity):
        assert cls.__doc__
    assert "creation date" in (Customer.__doc__ or "")


def test_every_open_enum_has_its_own_unlisted_values() -> None:
    # An open enum without @_open would refuse every value it does not list.
    enums = models._OpenEnum.__subclasses__()
    assert {cls.__name__ for cls in enums} == {
        "CustomerType",
        "Ethnicity",
        "Gender",
        "PreferredLanguage",
    }
    owners = [cls.__dict__["_missing_"].__func__.__self__ for cls in enums]
    assert all(isinstance(owner, models._Unlisted) for owner in owners)
    assert len({id(owner) for owner in owners}) == len(enums)
    for cls in enums:
        assert type(cls("never_listed")) is cls
