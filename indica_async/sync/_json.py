"""A customer as stored: the API's JSON shape, its bytes, and a hash of them."""

from __future__ import annotations

import hashlib
import operator
from typing import Any, Final

import attrs
import orjson

from ..models import Address, Customer, Recommendation

__all__ = ["content_hash", "customer_bytes"]

_CUSTOMER_FIELDS: Final = tuple(field.name for field in attrs.fields(Customer))
_ADDRESS_FIELDS: Final = tuple(field.name for field in attrs.fields(Address))
_RECOMMENDATION_FIELDS: Final = tuple(field.name for field in attrs.fields(Recommendation))
# One C-level call reads every field: this runs once per customer of every run.
_read_customer = operator.attrgetter(*_CUSTOMER_FIELDS)
_read_address = operator.attrgetter(*_ADDRESS_FIELDS)
_read_recommendation = operator.attrgetter(*_RECOMMENDATION_FIELDS)


# MERGE: use indica_async.customer_to_dict
def _customer_json(customer: Customer) -> dict[str, Any]:
    """The customer in the API's JSON shape: every field present, null when unset.

    Dates, enums and tuples stay as they are: orjson writes them as the API does
    (``YYYY-MM-DD``, the enum's value, arrays).
    """
    plain = dict(zip(_CUSTOMER_FIELDS, _read_customer(customer), strict=True))
    if customer.address is not None:
        plain["address"] = dict(zip(_ADDRESS_FIELDS, _read_address(customer.address), strict=True))
    if customer.recommendation is not None:
        plain["recommendation"] = dict(
            zip(_RECOMMENDATION_FIELDS, _read_recommendation(customer.recommendation), strict=True)
        )
    return plain


def customer_bytes(customer: Customer) -> bytes:
    """The stored JSON of a customer: fields in the model's (the vendor sample's) order,
    so equal customers always give equal bytes."""
    return orjson.dumps(_customer_json(customer))


def content_hash(data: bytes) -> str:
    """A short digest of the stored JSON, so unchanged customers compare in SQL."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
