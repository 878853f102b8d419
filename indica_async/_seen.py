"""A compact set of the customer ids a walk has yielded, so each is yielded once.

Ids are split into a high part, which picks a chunk, and a low 16-bit part kept in
that chunk: a sorted ``array`` of the low parts while the chunk holds few, a
65,536-bit bitmap once it holds more than the bitmap's 8 KiB would cost. The cost
depends on how many ids share a chunk. Measured with tracemalloc over a million ids
(a Python ``set`` of them costs about 60 bytes an id): 0.13 bytes an id when they are
consecutive (as the API's are), 2.3 when scattered over 100 million, 7 over 2**31;
but about 150 bytes an id, more than a ``set``, when ids are so sparse that each has
a chunk of its own (one dict entry and one array per 65,536-id chunk).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence
from itertools import repeat
from operator import lshift, sub
from typing import Final

__all__ = ["SeenIds"]

_LOW_BITS: Final = 16
_LOW_MASK: Final = (1 << _LOW_BITS) - 1
#: Past this many ids a chunk's sorted array (2 bytes an id) outgrows its bitmap.
_ARRAY_MAX: Final = (1 << _LOW_BITS) // 16
_BITMAP_BYTES: Final = (1 << _LOW_BITS) // 8
#: `add_all` sets a page's bits with one mask when its ids are at least this dense
#: (one id in so many) inside one chunk, which keeps the mask small.
_DENSE: Final = 8


class SeenIds:
    """Ids seen so far; `add` says whether an id is new, `add_all` does a page at once."""

    __slots__ = ("_chunks", "_count")

    def __init__(self) -> None:
        self._chunks: dict[int, array[int] | bytearray] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, customer_id: int) -> bool:
        chunk = self._chunks.get(customer_id >> _LOW_BITS)
        if chunk is None:
            return False
        low = customer_id & _LOW_MASK
        if isinstance(chunk, bytearray):
            return bool(chunk[low >> 3] & (1 << (low & 7)))
        at = bisect_left(chunk, low)
        return at < len(chunk) and chunk[at] == low

    def add(self, customer_id: int) -> bool:
        """Add ``customer_id``; True if it was not there before."""
        high, low = customer_id >> _LOW_BITS, customer_id & _LOW_MASK
        chunk = self._chunks.get(high)
        if chunk is None:
            self._chunks[high] = array("H", (low,))
        elif isinstance(chunk, bytearray):
            bit = 1 << (low & 7)
            if chunk[low >> 3] & bit:
                return False
            chunk[low >> 3] |= bit
        else:
            at = bisect_left(chunk, low)
            if at < len(chunk) and chunk[at] == low:
                return False
            if len(chunk) < _ARRAY_MAX:
                chunk.insert(at, low)
            else:
                bitmap = self._to_bitmap(high, chunk)
                bitmap[low >> 3] |= 1 << (low & 7)
        self._count += 1
        return True

    def add_all(self, ids: Sequence[int]) -> list[int]:
        """Add every id, in order; return the positions of those that were not new.

        What `add` on each would do. A page of distinct, new ids close together (as a
        window's customers are) is added with a few calls in C instead of one Python
        call an id.
        """
        if ids and self._add_dense(ids):
            return []
        return [at for at, customer_id in enumerate(ids) if not self.add(customer_id)]

    def _add_dense(self, ids: Sequence[int]) -> bool:
        """Add ``ids`` as one mask if they are distinct, unseen and dense in one chunk.

        Returns False, having added none of them, if any of that does not hold.
        """
        lowest, highest = min(ids), max(ids)
        high = lowest >> _LOW_BITS
        span = highest - lowest + 1
        if highest >> _LOW_BITS != high or span > _DENSE * len(ids) or len(set(ids)) < len(ids):
            return False
        first, last = (lowest & _LOW_MASK) >> 3, (highest & _LOW_MASK) >> 3
        base = high << _LOW_BITS | first << 3
        if span == len(ids):  # consecutive: the mask is one run of bits
            mask = ((1 << span) - 1) << (lowest - base)
        else:
            mask = sum(map(lshift, repeat(1), map(sub, ids, repeat(base))))
        chunk = self._chunks.get(high)
        if chunk is None:
            chunk = self._chunks[high] = bytearray(_BITMAP_BYTES)
        elif not isinstance(chunk, bytearray):
            chunk = self._to_bitmap(high, chunk)
        bits = int.from_bytes(chunk[first : last + 1], "little")
        if bits & mask:
            return False
        chunk[first : last + 1] = (bits | mask).to_bytes(last + 1 - first, "little")
        self._count += len(ids)
        return True

    def _to_bitmap(self, high: int, chunk: array[int]) -> bytearray:
        self._chunks[high] = bitmap = bytearray(_BITMAP_BYTES)
        for low in chunk:
            bitmap[low >> 3] |= 1 << (low & 7)
        return bitmap
