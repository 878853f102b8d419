"""A customer as stored: the API's JSON shape, its bytes, and a hash of them."""

from __future__ import annotations

import hashlib
from typing import Any

import attrs
import orjson

from ..models import Customer

__all__ = ["content_hash", "customer_bytes"]


def _plain(value: Any) -> Any:
    # Nested models become dicts; dates, enums and tuples are left to orjson, which
    # writes them as the API does (YYYY-MM-DD, the enum's value, arrays).
    if attrs.has(type(value)):
        return {
            field.name: _plain(getattr(value, field.name)) for field in attrs.fields(type(value))
        }
    return value


# MERGE: use indica_async.customer_to_dict
def _customer_json(customer: Customer) -> dict[str, Any]:
    """The customer in the API's JSON shape: every field present, null when unset."""
    plain: dict[str, Any] = _plain(customer)
    return plain


def customer_bytes(customer: Customer) -> bytes:
    """The stored JSON of a customer: fields in the model's (the vendor sample's) order,
    so equal customers always give equal bytes."""
    return orjson.dumps(_customer_json(customer))


def content_hash(data: bytes) -> str:
    """A short digest of the stored JSON, so unchanged customers compare in SQL."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
