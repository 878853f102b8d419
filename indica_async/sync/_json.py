"""A customer as stored: the API's JSON shape, its bytes, and a hash of them."""

from __future__ import annotations

import hashlib

from .._converters import customer_to_json as customer_bytes

__all__ = ["content_hash", "customer_bytes"]


def content_hash(data: bytes) -> str:
    """A short digest of the stored JSON, so unchanged customers compare in SQL."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
