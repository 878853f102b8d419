"""The compact set of yielded ids: a set's answers, in a fraction of a set's memory."""

from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from indica_async._seen import SeenIds

ids = st.one_of(
    st.integers(0, 70_000),  # dense, around one chunk's edge
    st.integers(-(2**40), 2**40),  # scattered, and negative
    st.integers(2**63, 2**70),  # past any fixed-width integer
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ids, max_size=400), st.lists(ids, max_size=50))
def test_it_answers_as_a_set_does(added: list[int], probes: list[int]) -> None:
    seen, reference = SeenIds(), set[int]()
    for customer_id in added:
        assert seen.add(customer_id) is (customer_id not in reference)
        reference.add(customer_id)
    assert len(seen) == len(reference)
    for customer_id in [*added, *probes]:
        assert (customer_id in seen) is (customer_id in reference)


def test_a_chunk_turns_into_a_bitmap_and_keeps_every_id() -> None:
    seen = SeenIds()
    dense = range(10_000, 80_000, 3)  # crosses a chunk boundary, past the array's limit
    assert all(seen.add(i) for i in dense)
    assert not any(seen.add(i) for i in dense)
    assert all(i in seen for i in dense)
    assert not any(i in seen for i in range(10_001, 80_000, 3))
    assert len(seen) == len(dense)


def test_a_million_dense_ids_take_a_few_hundred_kilobytes() -> None:
    seen = SeenIds()
    for customer_id in range(10_001, 1_010_001):
        seen.add(customer_id)
    size = sum(sys.getsizeof(c) for c in seen._chunks.values()) + sys.getsizeof(seen._chunks)
    assert size < 300_000  # a set of these ints would take about 60 MB
