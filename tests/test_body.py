"""CappedBody: decompression in bounded steps and the size cap, without any I/O."""

from __future__ import annotations

import gzip
import zlib

import pytest

from indica_async._body import CappedBody

MiB = 1024 * 1024


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("encoding", [None, "identity", "gzip", "x-gzip", "deflate"])
def test_a_body_up_to_the_cap_comes_back_whole(encoding: str | None) -> None:
    raw = b'[{"id": 1}]'.ljust(1000)
    sent = zlib.compress(raw) if encoding == "deflate" else raw
    if encoding in ("gzip", "x-gzip"):
        sent = gzip.compress(raw)
    body = CappedBody(1000, encoding)
    assert all(body.feed(p) for p in pieces(sent, 7))
    assert body.finish() == raw


def test_one_byte_over_the_cap_is_too_large() -> None:
    body = CappedBody(1000, None)
    body.feed(b"x" * 1000)
    assert not body.feed(b"x")
    assert body.too_large and body.finish() is None


def test_a_bomb_stops_at_the_cap_in_one_bounded_step() -> None:
    bomb = gzip.compress(bytes(64 * MiB))  # about 64 KiB
    body = CappedBody(MiB, "gzip")
    fed = 0
    for piece in pieces(bomb, 4096):
        fed += 1
        if not body.feed(piece):
            break
    assert body.too_large and body.finish() is None
    assert fed <= 2  # the first pieces already inflate past 1 MiB: reading stops there


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", b"not gzip at all"),
        ("gzip", gzip.compress(b"[1, 2, 3]" * 100)[:-12]),  # cut short
        ("br", b"\x1b\x00"),  # never offered, so never decoded
    ],
    ids=["garbage", "truncated", "unknown-encoding"],
)
def test_a_body_that_cannot_be_decoded_is_corrupt(encoding: str, data: bytes) -> None:
    body = CappedBody(MiB, encoding)
    body.feed(data)
    assert body.finish() is None
    assert body.corrupt and not body.too_large


def test_an_honest_length_over_the_cap_is_refused_before_reading() -> None:
    body = CappedBody(100, None)
    assert not body.encoded
    assert not body.over(100)
    assert body.over(101) and body.too_large


@pytest.mark.parametrize("size", [1, 5, 4096])
def test_every_member_of_a_gzip_body_is_read(size: int) -> None:
    # RFC 1952: a gzip body may be several members one after another. Stopping at the
    # end of the first one cut the body silently.
    parts = [b'[{"id": 1},', b' {"id": 2},', b' {"id": 3}]']
    sent = b"".join(gzip.compress(p) for p in parts)
    body = CappedBody(MiB, "gzip")
    assert all(body.feed(p) for p in pieces(sent, size))
    assert body.finish() == b"".join(parts)


def test_members_count_against_the_cap_together() -> None:
    sent = gzip.compress(b"x" * 600) + gzip.compress(b"y" * 600)
    body = CappedBody(1000, "gzip")
    assert not all(body.feed(p) for p in pieces(sent, 64))
    assert body.too_large and body.finish() is None


@pytest.mark.parametrize(
    ("encoding", "sent"),
    [
        ("gzip", gzip.compress(b"[1, 2, 3]") + b"trailing garbage"),
        ("deflate", zlib.compress(b"[1, 2, 3]") + b"trailing garbage"),
        ("deflate", zlib.compress(b"[1, 2, 3]") + zlib.compress(b"[4]")),
        ("gzip", gzip.compress(b"[1, 2, 3]") + gzip.compress(b"[4]")[:-6]),
    ],
    ids=["gzip-garbage", "deflate-garbage", "deflate-two-streams", "second-member-cut"],
)
@pytest.mark.parametrize("size", [1, 4096])
def test_bytes_after_the_compressed_stream_make_the_body_corrupt(
    encoding: str, sent: bytes, size: int
) -> None:
    body = CappedBody(MiB, encoding)
    for piece in pieces(sent, size):
        if not body.feed(piece):
            break
    assert body.finish() is None
    assert body.corrupt and not body.too_large


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_an_empty_encoded_body_is_empty_not_corrupt(encoding: str) -> None:
    body = CappedBody(MiB, encoding)
    assert body.finish() == b""
    assert not body.corrupt
