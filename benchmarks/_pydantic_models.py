"""pydantic v2 models mirroring `Customer`, `Address` and `Recommendation` (a peer only).

Field for field the SDK's models: every field but ``id`` optional, dates as
`datetime.date`, the open enumerations as the SDK's enum or the raw string, ``weight`` an
int or a float, the group ids tuples. pydantic's default (lax) mode, as most code uses it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

import pydantic

from indica_async.models import CustomerType, Ethnicity, Gender, PreferredLanguage

__all__ = ["ADAPTER", "PydanticAddress", "PydanticCustomer", "PydanticRecommendation"]

E = TypeVar("E")
#: A known value becomes the enum member, any other string stays a string (smart mode
#: would keep every value a ``str``, an exact match for a JSON string).
OpenEnum = Annotated[E | str | None, pydantic.Field(union_mode="left_to_right")]


class PydanticRecommendation(pydantic.BaseModel):
    number: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    state_id_expires_on: dt.date | None = None


class PydanticAddress(pydantic.BaseModel):
    street_address_1: str | None = None
    street_address_2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


class PydanticCustomer(pydantic.BaseModel):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    date_of_birth: dt.date | None = None
    phone: str | None = None
    email: str | None = None
    comment: str | None = None
    has_medical_recommendation: bool | None = None
    recommendation: PydanticRecommendation | None = None
    state_id: str | None = None
    alternative_id: str | None = None
    passport: str | None = None
    gender: OpenEnum[Gender] = None
    weight: int | float | None = None
    height: str | None = None
    type: OpenEnum[CustomerType] = None
    ethnicity: OpenEnum[Ethnicity] = None
    preferred_language: OpenEnum[PreferredLanguage] = None
    manual_groups: tuple[int, ...] | None = None
    auto_groups: tuple[int, ...] | None = None
    home_phone: str | None = None
    office_phone: str | None = None
    fax: str | None = None
    address: PydanticAddress | None = None
    mail_messages_allowed: bool | None = None
    email_messages_allowed: bool | None = None
    text_messages_allowed: bool | None = None
    call_messages_allowed: bool | None = None
    email_consent_date: dt.date | None = None
    phone_consent_date: dt.date | None = None


ADAPTER: pydantic.TypeAdapter[list[PydanticCustomer]] = pydantic.TypeAdapter(list[PydanticCustomer])
