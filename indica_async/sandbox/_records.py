"""The sandbox's ground truth: customers and their creation days, stored by column.

A million customers must fit in memory and be served fast, so the JSON of every
customer lives in one buffer, in ``(created, id)`` order, separated by commas: the
body of a list response is a single slice of it.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, overload

import attrs
import orjson

__all__ = ["SandboxRecord", "SandboxRecords"]


@attrs.frozen
class SandboxRecord:
    """One customer as the sandbox serves it, and the day its profile was created."""

    created: date
    id: int
    state_id: str | None
    raw: bytes = attrs.field(repr=False)
    """The customer JSON object exactly as served."""

    @property
    def body(self) -> dict[str, Any]:
        """The customer JSON object, decoded from ``raw`` on each access."""
        body: dict[str, Any] = orjson.loads(self.raw)
        return body

    @classmethod
    def from_body(cls, created: date, body: Mapping[str, Any]) -> SandboxRecord:
        """Build a record from a customer object, which must hold an integer ``id``."""
        customer_id = body.get("id")
        if not isinstance(customer_id, int) or isinstance(customer_id, bool):
            raise ValueError(f"customer id must be an int, got {customer_id!r}")
        state_id = body.get("state_id")
        return cls(
            created=created,
            id=customer_id,
            state_id=state_id if isinstance(state_id, str) else None,
            raw=orjson.dumps(body),
        )


class SandboxRecords(Sequence[SandboxRecord]):
    """An immutable sequence of customers sorted by ``(created, id)``.

    Items are built on access. Build one with ``generate_customers`` or
    ``SandboxRecords.from_records``; pass it to any number of ``Sandbox`` instances.
    """

    __slots__ = ("_buffer", "_by_id", "_by_state_id", "_created", "_ids", "_offsets", "_state_ids")

    def __init__(
        self,
        *,
        created: array[int],
        ids: array[int],
        state_ids: list[str | None],
        buffer: bytearray,
        offsets: array[int],
    ) -> None:
        # Private constructor: the columns must already be sorted and consistent.
        self._created = created
        self._ids = ids
        self._state_ids = state_ids
        self._buffer = buffer
        self._offsets = offsets
        self._by_id: dict[int, int] | None = None
        self._by_state_id: dict[str, int] | None = None

    @classmethod
    def from_records(cls, records: Iterable[SandboxRecord]) -> SandboxRecords:
        """Sort ``records`` by ``(created, id)`` and store them.

        Raises ``ValueError`` on a duplicate id or state id: lookups must be unambiguous.
        """
        ordered = sorted(records, key=lambda record: (record.created, record.id))
        builder = RecordsBuilder()
        for record in ordered:
            builder.add(record.created.toordinal(), record.id, record.state_id, record.raw)
        built = builder.build()
        built._index()
        return built

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> SandboxRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[SandboxRecord]: ...

    def __getitem__(self, index: int | slice) -> SandboxRecord | list[SandboxRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("record index out of range")
        return SandboxRecord(
            created=date.fromordinal(self._created[index]),
            id=self._ids[index],
            state_id=self._state_ids[index],
            raw=self.raw(index),
        )

    def __iter__(self) -> Iterator[SandboxRecord]:
        for index in range(len(self)):
            yield self[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SandboxRecords):
            return NotImplemented
        return (
            self._ids == other._ids
            and self._created == other._created
            and self._state_ids == other._state_ids
            and self._buffer == other._buffer
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if not self:
            return "SandboxRecords([])"
        first, last = date.fromordinal(self._created[0]), date.fromordinal(self._created[-1])
        return f"<SandboxRecords: {len(self)} customers created {first} to {last}>"

    @property
    def ids(self) -> tuple[int, ...]:
        """Customer ids in record order, without building the records."""
        return tuple(self._ids)

    def raw(self, index: int) -> bytes:
        """The JSON of the record at ``index``."""
        return bytes(self._buffer[self._offsets[index] : self._offsets[index + 1] - 1])

    def index_of_id(self, customer_id: int) -> int | None:
        """Position of the customer with that id, or ``None``."""
        return self._index()[0].get(customer_id)

    def index_of_state_id(self, state_id: str) -> int | None:
        """Position of the customer with that state id, or ``None``."""
        return self._index()[1].get(state_id)

    def created_range(self, start: date, end: date) -> tuple[int, int]:
        """Positions ``[lo, hi)`` of the customers created within ``[start, end]``."""
        lo = bisect.bisect_left(self._created, start.toordinal())
        hi = bisect.bisect_right(self._created, end.toordinal(), lo)
        return lo, hi

    def json_array(self, lo: int, hi: int, *, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
        """``prefix + [records lo..hi-1 as a JSON array] + suffix``, copying the data once."""
        view = memoryview(self._buffer)
        if hi <= lo:
            return b"".join((prefix, b"[]", suffix))
        chunk = view[self._offsets[lo] : self._offsets[hi] - 1]
        return b"".join((prefix, b"[", chunk, b"]", suffix))

    def _index(self) -> tuple[dict[int, int], dict[str, int]]:
        # Built on first lookup: list-only benchmarks never pay for it.
        if self._by_id is None or self._by_state_id is None:
            by_id = {customer_id: index for index, customer_id in enumerate(self._ids)}
            if len(by_id) != len(self._ids):
                raise ValueError("duplicate customer ids")
            by_state_id: dict[str, int] = {}
            for index, state_id in enumerate(self._state_ids):
                if state_id is not None:
                    if state_id in by_state_id:
                        raise ValueError(f"duplicate state id {state_id!r}")
                    by_state_id[state_id] = index
            self._by_id, self._by_state_id = by_id, by_state_id
        return self._by_id, self._by_state_id


class RecordsBuilder:
    """Appends customers, in ``(created, id)`` order, into the columns of a ``SandboxRecords``."""

    __slots__ = ("buffer", "created", "ids", "offsets", "state_ids")

    def __init__(self) -> None:
        self.created: array[int] = array("l")
        self.ids: array[int] = array("q")
        self.state_ids: list[str | None] = []
        self.buffer = bytearray()
        self.offsets: array[int] = array("q", [0])

    def add(self, created: int, customer_id: int, state_id: str | None, raw: bytes) -> None:
        """Append one customer; ``created`` is a date ordinal."""
        self.created.append(created)
        self.ids.append(customer_id)
        self.state_ids.append(state_id)
        self.buffer += raw
        self.buffer += b","
        self.offsets.append(len(self.buffer))

    def build(self) -> SandboxRecords:
        """The records added so far; the builder must not be used afterwards."""
        return SandboxRecords(
            created=self.created,
            ids=self.ids,
            state_ids=self.state_ids,
            buffer=self.buffer,
            offsets=self.offsets,
        )
