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
from typing import Final

__all__ = ["SeenIds"]

_LOW_BITS: Final = 16
_LOW_MASK: Final = (1 << _LOW_BITS) - 1
#: Past this many ids a chunk's sorted array (2 bytes an id) outgrows its bitmap.
_ARRAY_MAX: Final = (1 << _LOW_BITS) // 16


class SeenIds:
    """Ids seen so far; `add` says whether an id is new."""

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
                self._chunks[high] = bitmap = bytearray(1 << (_LOW_BITS - 3))
                for value in (*chunk, low):
                    bitmap[value >> 3] |= 1 << (value & 7)
        self._count += 1
        return True
