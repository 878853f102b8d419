"""A digest of a customer's stored JSON, so unchanged customers compare in SQL."""

from __future__ import annotations

import hashlib

__all__ = ["content_hash"]


def content_hash(data: bytes) -> str:
    """A short digest of the stored JSON (`indica_async.customer_to_json`'s bytes)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
