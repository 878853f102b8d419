"""msgspec Structs mirroring `Customer`, `Address` and `Recommendation` (the ceiling).

As the SDK's models, except the open enumerations: msgspec cannot decode a union of an
enum and ``str`` (both are strings on the wire), so they stay plain strings here.
"""

from __future__ import annotations

import datetime as dt

import msgspec

__all__ = ["DECODER", "MsgspecAddress", "MsgspecCustomer", "MsgspecRecommendation"]


class MsgspecRecommendation(msgspec.Struct, frozen=True):
    number: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    state_id_expires_on: dt.date | None = None


class MsgspecAddress(msgspec.Struct, frozen=True):
    street_address_1: str | None = None
    street_address_2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


class MsgspecCustomer(msgspec.Struct, frozen=True):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    date_of_birth: dt.date | None = None
    phone: str | None = None
    email: str | None = None
    comment: str | None = None
    has_medical_recommendation: bool | None = None
    recommendation: MsgspecRecommendation | None = None
    state_id: str | None = None
    alternative_id: str | None = None
    passport: str | None = None
    gender: str | None = None
    weight: int | float | None = None
    height: str | None = None
    type: str | None = None
    ethnicity: str | None = None
    preferred_language: str | None = None
    manual_groups: tuple[int, ...] | None = None
    auto_groups: tuple[int, ...] | None = None
    home_phone: str | None = None
    office_phone: str | None = None
    fax: str | None = None
    address: MsgspecAddress | None = None
    mail_messages_allowed: bool | None = None
    email_messages_allowed: bool | None = None
    text_messages_allowed: bool | None = None
    call_messages_allowed: bool | None = None
    email_consent_date: dt.date | None = None
    phone_consent_date: dt.date | None = None


DECODER: msgspec.json.Decoder[list[MsgspecCustomer]] = msgspec.json.Decoder(list[MsgspecCustomer])
