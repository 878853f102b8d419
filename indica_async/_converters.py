"""Response bytes to models in compiled code; the one cattrs converter for everything else.

Decoding: msgspec parses a body and builds the frozen attrs models in one pass in C,
checking every field's type as it goes (no coercion). Open enums need no hook: msgspec
asks the enum's ``_missing_`` for values that are not members, and inside
``_decoding_one_body`` that finds a value already made for the body in C (see
``models``), so a new value repeated on a page is made once. msgspec has no switch to
forbid unknown fields on attrs classes, so strict mode decodes the body a second time
into key-only mirror structs that do forbid them (opt-in, so the default path pays
nothing). Every msgspec error becomes a `DecodeError` that names the path and the
expected type, never a value and never the name of an unknown field.

Encoding: `converter` (cattrs) unstructures the models into the API's JSON shape.
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
import re
import types
import typing
from typing import Any, Final, TypeVar

import attrs
import msgspec
import orjson
from cattrs.preconf.orjson import OrjsonConverter
from cattrs.preconf.orjson import make_converter as _make_orjson_converter

from ._errors import DecodeError
from .models import Address, Customer, Recommendation, _decoding_one_body

__all__ = [
    "converter",
    "customer_to_dict",
    "customer_to_json",
    "decode_customer",
    "decode_customer_body",
    "decode_customers",
    "decode_list_body",
]

_T = TypeVar("_T")


# --- the cattrs converter ----------------------------------------------------------------


def _inner(tp: Any) -> Any:
    """``X`` for ``X | None``, else ``tp`` itself."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _is_enum(tp: Any) -> bool:
    inner = _inner(tp)
    return isinstance(inner, type) and issubclass(inner, enum.Enum)


def _enum_value(member: enum.Enum | str | None) -> Any:
    # A plain str a user put in an enum field is written as it is.
    return member.value if isinstance(member, enum.Enum) else member


def _iso_date(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _int_list(ids: tuple[int, ...] | None) -> list[int] | None:
    return None if ids is None else list(ids)


def _make_converter() -> OrjsonConverter:
    conv = _make_orjson_converter()
    # The preconf converter passes dates, enums and tuples through for orjson to encode;
    # these hooks make the dict the API's JSON shape for any JSON library instead. An
    # unlisted open-enum value is its own value, so it comes out as the string sent.
    conv.register_unstructure_hook_func(_is_enum, _enum_value)
    conv.register_unstructure_hook_func(lambda tp: _inner(tp) is dt.date, _iso_date)
    conv.register_unstructure_hook_func(lambda tp: _inner(tp) == tuple[int, ...], _int_list)
    return conv


#: The SDK's cattrs converter (an orjson-flavoured ``cattrs.Converter``) for the models.
#:
#: ``converter.unstructure(customer)`` gives the API's JSON shape (see `customer_to_dict`),
#: ``converter.structure(obj, Customer)`` builds a customer from parsed JSON, and
#: ``converter.dumps(customer)`` gives JSON bytes. Register your own hooks on a copy
#: (``converter.copy()``): the SDK's own decode path does not go through it.
converter: Final[OrjsonConverter] = _make_converter()

_unstructure_customer: Final = converter.get_unstructure_hook(Customer)


def customer_to_dict(customer: Customer) -> dict[str, Any]:
    """A customer in the API's JSON shape, ready for any JSON encoder.

    Every field is present (``None`` when unset), dates are ``YYYY-MM-DD`` strings, enums
    are their strings (an unknown value as the API sent it), group ids are lists, and the
    address and recommendation are nested dicts.
    """
    return _unstructure_customer(customer)  # type: ignore[no-any-return]


_CUSTOMER_FIELDS: Final = tuple(field.name for field in attrs.fields(Customer))
_ADDRESS_FIELDS: Final = tuple(field.name for field in attrs.fields(Address))
_RECOMMENDATION_FIELDS: Final = tuple(field.name for field in attrs.fields(Recommendation))
# One C-level call reads every field: an export or a sync encodes every customer.
_read_customer: Final = operator.attrgetter(*_CUSTOMER_FIELDS)
_read_address: Final = operator.attrgetter(*_ADDRESS_FIELDS)
_read_recommendation: Final = operator.attrgetter(*_RECOMMENDATION_FIELDS)


def customer_to_json(customer: Customer) -> bytes:
    """`customer_to_dict` as compact JSON bytes, fields in the API's order.

    About 1.4x faster than encoding `customer_to_dict`'s result: orjson writes the
    dates, enums and tuples itself, as the API does.
    """
    plain = dict(zip(_CUSTOMER_FIELDS, _read_customer(customer), strict=True))
    if customer.address is not None:
        plain["address"] = dict(zip(_ADDRESS_FIELDS, _read_address(customer.address), strict=True))
    if customer.recommendation is not None:
        plain["recommendation"] = dict(
            zip(_RECOMMENDATION_FIELDS, _read_recommendation(customer.recommendation), strict=True)
        )
    return orjson.dumps(plain)


# --- the msgspec decoders ----------------------------------------------------------------


class _Page(msgspec.Struct, gc=False):
    """The list endpoint's envelope: an object whose ``data`` is the customers."""

    data: list[Customer]


_ONE: Final = msgspec.json.Decoder(Customer)
_LIST: Final = msgspec.json.Decoder(list[Customer] | _Page)


def _key_mirror(cl: type) -> type[msgspec.Struct]:
    """A struct with ``cl``'s field names that rejects any other: strict mode's key check.

    Nested models get mirrors of their own; every other field is ``Any`` (its type was
    already checked by the real decode).
    """
    fields: list[tuple[str, Any, Any]] = []
    for a in attrs.fields(cl):
        nested = _nested_model(a.type)
        tp = Any if nested is None else _key_mirror(nested) | None
        fields.append((a.name, tp, None))
    return msgspec.defstruct(
        f"_{cl.__name__}Keys", fields, forbid_unknown_fields=True, gc=False, omit_defaults=False
    )


def _nested_model(tp: Any) -> type | None:
    for cl in (Address, Recommendation):
        if tp == cl | None:
            return cl
    return None


_CUSTOMER_KEYS: Final = _key_mirror(Customer)


class _PageKeys(msgspec.Struct, gc=False):
    data: list[_CUSTOMER_KEYS]  # type: ignore[valid-type]


_ONE_KEYS: Final = msgspec.json.Decoder(_CUSTOMER_KEYS)
_LIST_KEYS: Final = msgspec.json.Decoder(list[_CUSTOMER_KEYS] | _PageKeys)  # type: ignore[valid-type]


def decode_list_body(
    body: bytes, *, strict: bool = False, request_path: str | None = None
) -> list[Customer]:
    """Decode a list response: a bare array of customers, or an object whose ``data`` is one.

    Unknown fields are ignored, or rejected with ``strict``. Raises `DecodeError`, which
    carries ``GET request_path`` when one is given.
    """
    try:
        result = _decode(_LIST, body, request_path)
    except DecodeError as exc:
        if exc.field != "$.data":
            raise
        # Not "field data missing": the top level is an object, but no envelope.
        raise DecodeError(
            "Expected an array or an object with a `data` array, got `object` - at `$`",
            field="$",
            expected="array",
            method=exc.method,
            path=exc.path,
        ) from None
    if strict:
        _decode(_LIST_KEYS, body, request_path)
    return result.data if type(result) is _Page else result  # type: ignore[return-value]


def decode_customer_body(
    body: bytes, *, strict: bool = False, request_path: str | None = None
) -> Customer:
    """Decode a single-customer response (``GET /customers/{id}``). Raises `DecodeError`."""
    customer = _decode(_ONE, body, request_path)
    if strict:
        _decode(_ONE_KEYS, body, request_path)
    return customer


# The two below serve no request path: they decode JSON already parsed (the sandbox's
# records, samples built as dicts) with exactly the checks and error paths of the body
# decoders, which is what the tests and the CLI's tests compare against.
def decode_customer(obj: object, *, strict: bool = False) -> Customer:
    """Decode one customer from parsed JSON (dicts and lists), with the same checks."""
    customer: Customer = _convert(obj, Customer)
    if strict:
        _convert(obj, _CUSTOMER_KEYS)
    return customer


def decode_customers(items: object, *, strict: bool = False) -> list[Customer]:
    """Decode a parsed JSON array of customers; paths start with the index (``$[3].id``)."""
    customers: list[Customer] = _convert(items, list[Customer])
    if strict:
        _convert(items, list[_CUSTOMER_KEYS])  # type: ignore[valid-type]
    return customers


def _decode(decoder: msgspec.json.Decoder[_T], body: bytes, request_path: str | None) -> _T:
    try:
        with _decoding_one_body():
            return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise _decode_error(str(exc), request_path) from None
    except msgspec.DecodeError:
        raise DecodeError(
            "The response body is not valid JSON",
            field="$",
            expected="JSON",
            method=None if request_path is None else "GET",
            path=request_path,
        ) from None
    except RecursionError:
        # msgspec bounds the depth it follows, also inside fields it skips.
        raise _too_deep(request_path) from None


def _convert(obj: object, tp: Any) -> Any:
    try:
        with _decoding_one_body():
            return msgspec.convert(obj, tp, strict=True)
    except msgspec.ValidationError as exc:
        raise _decode_error(str(exc)) from None
    except RecursionError:
        raise _too_deep(None) from None


def _too_deep(request_path: str | None) -> DecodeError:
    return DecodeError(
        "The response body is nested too deeply - at `$`",
        field="$",
        method=None if request_path is None else "GET",
        path=request_path,
    )


# msgspec's messages end in " - at `$path`" (none at the top level). The part before is
# kept only when it has one of the shapes below, none of which holds a value; anything
# else (an unknown field's name, a value in some future message) is replaced.
# A server's key name may itself read " - at `$...": the path is kept only if it is a
# JSON path (indexes and the models' own key names), else the error says `$`.
_AT: Final = re.compile(r"^(?P<detail>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
_PATH: Final = re.compile(r"\$(?:\.[A-Za-z_0-9]+|\[\d+\])*")
_PATH_KEY: Final = re.compile(r"\.([A-Za-z_0-9]+)")
_KNOWN_KEYS: Final = frozenset(
    {"data"} | {a.name for cl in (Customer, Address, Recommendation) for a in attrs.fields(cl)}
)
_EXPECTED: Final = re.compile(r"^Expected `(?P<expected>[a-z |\[\]]+)`, got `(?P<got>[a-z]+)`$")
_MISSING_FIELD: Final = re.compile(r"^Object missing required field `(?P<name>[a-z_0-9]+)`$")
_UNKNOWN_FIELD: Final = "Object contains unknown field"


def _decode_error(message: str, request_path: str | None = None) -> DecodeError:
    match = _AT.match(message)
    assert match is not None  # the pattern matches any string
    detail, path = match["detail"], _safe_path(match["path"])
    expected: str | None = None
    if found := _EXPECTED.match(detail):
        expected = found["expected"]
        detail = f"Expected `{expected}`, got `{found['got']}`"
    elif found := _MISSING_FIELD.match(detail):
        path = f"{path}.{found['name']}"
        expected = _FIELD_TYPES.get(found["name"])
        detail = "Required field is missing"
    elif detail == "Invalid RFC3339 encoded date":
        expected = "date"
        detail = "Expected a `YYYY-MM-DD` date, got another string"
    elif detail.startswith(_UNKNOWN_FIELD):
        # The name is not repeated: a server may put anything there, even an email.
        detail = "Unknown field (strict mode rejects fields the models do not know)"
    else:
        detail = "Invalid value"
    return DecodeError(
        f"{detail} - at `{path}`",
        field=path,
        expected=expected,
        method=None if request_path is None else "GET",
        path=request_path,
    )


def _safe_path(path: str | None) -> str:
    if (
        path is None
        or _PATH.fullmatch(path) is None
        or not _KNOWN_KEYS.issuperset(_PATH_KEY.findall(path))
    ):
        return "$"
    return path


_FIELD_TYPES: Final = {"id": "int", "data": "array"}
