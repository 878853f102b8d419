"""A response body collected chunk by chunk, decompressed, and capped in size (pure)."""

from __future__ import annotations

import zlib

__all__ = ["ACCEPT_ENCODING", "CappedBody"]

#: What the client offers, and so all it decompresses itself.
ACCEPT_ENCODING = "gzip, deflate"
#: zlib's window bits that accept either a zlib or a gzip header.
_ZLIB_OR_GZIP = 32 + zlib.MAX_WBITS
#: zlib's window bits for a gzip member only (the second and later of a gzip body).
_GZIP = 16 + zlib.MAX_WBITS


class CappedBody:
    """Collects a body of at most ``limit`` bytes after decompression.

    Decompression is done here, in bounded steps (never more than ``limit + 1`` bytes
    of output at once), so a small compressed chunk cannot inflate into gigabytes
    before the cap is checked. `feed` returns False as soon as the body is over the
    cap (``too_large``) or cannot be decoded (``corrupt``); reading should stop.
    """

    def __init__(self, limit: int, content_encoding: str | None) -> None:
        self.limit = limit
        self.too_large = False
        self.corrupt = False
        # Chunks joined once at the end: growing one buffer copies it again and again.
        self._chunks: list[bytes] = []
        self._size = 0
        encoding = (content_encoding or "identity").strip().lower()
        self._inflate: zlib._Decompress | None = None
        # A gzip body may hold several members, one after another (RFC 1952).
        self._members = encoding in ("gzip", "x-gzip")
        self._empty = True
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._inflate = zlib.decompressobj(_ZLIB_OR_GZIP)
        elif encoding != "identity":
            self.corrupt = True  # an encoding never offered: nothing here can read it

    @property
    def failed(self) -> bool:
        return self.too_large or self.corrupt

    @property
    def encoded(self) -> bool:
        """True if the body arrives compressed (its Content-Length says little)."""
        return self._inflate is not None

    def over(self, content_length: int) -> bool:
        """True, and marks the body too large, if an honest length is over the cap."""
        if content_length > self.limit:
            self.too_large = True
        return self.too_large

    def feed(self, chunk: bytes) -> bool:
        """Add one chunk as received; False once reading should stop."""
        if self.failed:
            return False
        if self._inflate is None:
            return self._append(chunk)
        try:
            self._inflate_chunk(chunk)
        except zlib.error:
            self.corrupt = True
        return not self.failed

    def _inflate_chunk(self, chunk: bytes) -> None:
        assert self._inflate is not None
        while chunk and not self.failed:
            self._empty = False
            if self._inflate.eof:
                if not self._members:
                    raise zlib.error("bytes after the end of the compressed stream")
                # Another gzip member; anything else after the first is corrupt.
                self._inflate = zlib.decompressobj(_GZIP)
            data = self._inflate.decompress(chunk, self._room())
            while self._append(data) and self._inflate.unconsumed_tail:
                data = self._inflate.decompress(self._inflate.unconsumed_tail, self._room())
            chunk = self._inflate.unused_data if self._inflate.eof else b""

    def finish(self) -> bytes | None:
        """The whole body, or None if it was too large or could not be decoded.

        An encoded body with no bytes at all is empty (``b""``), not corrupt.
        """
        if self._inflate is not None and not self.failed and not self._empty:
            try:
                self._append(self._inflate.flush())
            except zlib.error:
                self.corrupt = True
            if not self._inflate.eof:
                self.corrupt = True  # the compressed stream was cut short
        if self.failed:
            return None
        return self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)

    def _room(self) -> int:
        # At least 1: zlib reads a max_length of 0 as "no limit".
        return self.limit + 1 - self._size

    def _append(self, data: bytes) -> bool:
        if data:
            self._chunks.append(data)
            self._size += len(data)
        if self._size > self.limit:
            self.too_large = True
            self._chunks = []  # let it go now, not when the call ends
        return not self.too_large
