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


pages = st.lists(
    st.one_of(
        # A window's ids: consecutive, or dense with gaps, near a chunk's edge or not.
        st.builds(
            lambda start, n, step: list(range(start, start + n * step, step)),
            st.integers(60_000, 140_000),
            st.integers(1, 600),
            st.integers(1, 10),
        ),
        st.lists(ids, max_size=50),  # anything at all, repeats included
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(pages, st.randoms(use_true_random=False))
def test_add_all_answers_as_add_does_on_each(batches: list[list[int]], rnd: object) -> None:
    bulk, one_by_one = SeenIds(), SeenIds()
    for batch in batches:
        rnd.shuffle(batch)  # type: ignore[attr-defined]
        expected = [at for at, customer_id in enumerate(batch) if not one_by_one.add(customer_id)]
        assert bulk.add_all(batch) == expected
        assert len(bulk) == len(one_by_one)
    for customer_id in {i for batch in batches for i in batch} | {0, 65_535, 65_536}:
        assert (customer_id in bulk) is (customer_id in one_by_one)


def test_add_all_finds_a_repeat_of_an_earlier_page_and_inside_its_own() -> None:
    seen = SeenIds()
    assert seen.add_all(list(range(1_000, 1_500))) == []
    # The second page overlaps the first at 1_499, and repeats 1_600 itself.
    assert seen.add_all([1_499, *range(1_500, 1_700), 1_600]) == [0, 201]
    assert len(seen) == 700
    assert 1_699 in seen and 1_700 not in seen


def test_add_all_turns_an_array_chunk_into_a_bitmap_and_keeps_its_ids() -> None:
    seen = SeenIds()
    assert seen.add(70_000) and seen.add(70_500)
    assert seen.add_all(list(range(70_001, 70_400))) == []  # dense: one mask
    assert isinstance(seen._chunks[70_000 >> 16], bytearray)
    assert seen.add_all([70_000, 70_500, 70_399, 70_400]) == [0, 1, 2]
    assert len(seen) == 402
