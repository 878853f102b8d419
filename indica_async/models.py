"""The customer records of the IndicaOnline open API, as frozen attrs classes.

Every field but ``Customer.id`` may be null or missing in the API's answers, so every
other field is optional here. The enumerations are open-ended on the vendor's side: a
known value is one of the class's members, and an unknown one is an instance of the same
class that is the string the API sent (equal to it, hashing and printing as it).
"""

import contextlib
import contextvars
import datetime as dt
import enum
from collections.abc import Iterator
from typing import TypeVar

import attrs

__all__ = [
    "Address",
    "Customer",
    "CustomerType",
    "Ethnicity",
    "Gender",
    "PreferredLanguage",
    "Recommendation",
]


class _OpenEnum(str, enum.Enum):
    """A str enum that accepts any string: unknown values become unlisted instances.

    ``Gender("nonbinary")`` returns a ``Gender`` that is the string ``"nonbinary"``: equal
    to it, hashed, printed and serialised as it, with ``.value == .name == "nonbinary"``.
    It is not a member: ``Gender`` does not list it, and nothing keeps it once made, so
    values a server invents cannot accumulate in the process. While one response body is
    decoded, each unknown value is made once and shared by every customer that carries it.
    """

    # str() and f-strings give the wire value on every Python version, as StrEnum does
    # (a plain str mix-in formats as "Gender.FEMALE" on some versions, "female" on others).
    __str__ = str.__str__


_E = TypeVar("_E", bound=_OpenEnum)


class _Unlisted(dict[str, _OpenEnum]):
    """One open enum's ``_missing_``: the unlisted values the decodes in progress made.

    Enum and msgspec's decoder alike call ``_missing_`` for every value that is not a
    member, so an open enum is one type: a field is ``Gender | None``, not
    ``Gender | str | None``. As this dict's ``__getitem__``, a value already made for the
    body is found in C, with no Python frame: a server that starts sending a new value
    sends it on many customers of a page. Values are kept only inside
    ``_decoding_one_body``, which empties the dict when it ends, so nothing outlives a
    decode. While decodes run in several threads, one may find a value another made
    (as may any ``Gender(...)`` call meanwhile): an equal value, of the same enum.
    """

    __slots__ = ("_enum",)

    def __init__(self, enum_class: type[_OpenEnum]) -> None:
        super().__init__()
        self._enum = enum_class

    def __missing__(self, value: object) -> _OpenEnum | None:
        if type(value) is not str:
            if not isinstance(value, str):
                return None  # not a value of any open enum: Enum raises ValueError
            value = str.__str__(value)  # a str subclass: keep only the text
        unlisted = str.__new__(self._enum, value)
        unlisted._value_ = unlisted._name_ = value
        if _DECODING.get():
            self[value] = unlisted
        return unlisted


_DECODING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "indica_async_decoding", default=False
)
_UNLISTED: list[_Unlisted] = []


def _open(enum_class: type[_E]) -> type[_E]:
    made = _Unlisted(enum_class)
    _UNLISTED.append(made)
    # Set after the class is made: the class body cannot name its own dict.
    type.__setattr__(enum_class, "_missing_", staticmethod(made.__getitem__))
    return enum_class


@contextlib.contextmanager
def _decoding_one_body() -> Iterator[None]:
    """Share each unknown enum value made inside the block; keep none after it."""
    token = _DECODING.set(True)
    try:
        yield
    finally:
        _DECODING.reset(token)
        # A decode running in another thread at this moment loses only its reuse: what it
        # makes next is equal to what it made before.
        for made in _UNLISTED:
            made.clear()


@_open
class Gender(_OpenEnum):
    """A customer's gender as the API spells it."""

    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


@_open
class CustomerType(_OpenEnum):
    """Whether a customer buys recreationally, medically, or both."""

    RECREATIONAL = "recreational"
    MEDICAL = "medical"
    MEDICAL_WITH_REC = "medical_with_rec"


@_open
class Ethnicity(_OpenEnum):
    """A customer's ethnicity; the API does not publish its list, so this is a best guess."""

    AMERICAN_INDIAN_OR_ALASKA_NATIVE = "american_indian_or_alaska_native"
    ASIAN = "asian"
    BLACK_OR_AFRICAN_AMERICAN = "black_or_african_american"
    LATINO_OR_HISPANIC = "latino_or_hispanic"
    NATIVE_HAWAIIAN_OR_PACIFIC_ISLANDER = "native_hawaiian_or_pacific_islander"
    WHITE = "white"
    TWO_OR_MORE = "two_or_more"
    OTHER = "other"
    PREFER_NOT_TO_SAY = "prefer_not_to_say"


@_open
class PreferredLanguage(_OpenEnum):
    """The language a customer prefers; the API does not publish its list either."""

    ENGLISH = "english"
    SPANISH = "spanish"
    CHINESE = "chinese"
    VIETNAMESE = "vietnamese"
    TAGALOG = "tagalog"
    KOREAN = "korean"
    RUSSIAN = "russian"
    OTHER = "other"


@attrs.frozen
class Recommendation:
    """A medical recommendation (the document that makes a customer a medical customer)."""

    number: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    state_id_expires_on: dt.date | None = None


@attrs.frozen
class Address:
    """A customer's postal address."""

    street_address_1: str | None = None
    street_address_2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


@attrs.frozen
class Customer:
    """One customer profile, as ``GET /customers/{id}`` returns it.

    The API gives no creation date: the date window a customer was listed in is the only
    record of when the profile was created. Enumerated fields hold a member when the value
    is known, and otherwise an unlisted instance of the enum that is the string sent.
    """

    id: int
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    date_of_birth: dt.date | None = None
    phone: str | None = None
    email: str | None = None
    comment: str | None = None
    has_medical_recommendation: bool | None = None
    recommendation: Recommendation | None = None
    state_id: str | None = None
    alternative_id: str | None = None
    passport: str | None = None
    gender: Gender | None = None
    #: As the API sent it: an int stays an int, a decimal a float. The unit is not documented.
    weight: int | float | None = None
    height: str | None = None
    type: CustomerType | None = None
    ethnicity: Ethnicity | None = None
    preferred_language: PreferredLanguage | None = None
    #: Ids of the groups staff put the customer in.
    manual_groups: tuple[int, ...] | None = None
    #: Ids of the groups the POS assigned by its own rules.
    auto_groups: tuple[int, ...] | None = None
    home_phone: str | None = None
    office_phone: str | None = None
    fax: str | None = None
    address: Address | None = None
    mail_messages_allowed: bool | None = None
    email_messages_allowed: bool | None = None
    text_messages_allowed: bool | None = None
    call_messages_allowed: bool | None = None
    email_consent_date: dt.date | None = None
    phone_consent_date: dt.date | None = None
