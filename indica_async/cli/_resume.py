"""Resume state of ``customers export --resume``: a small JSON file, saved atomically.

The export writes pages in date order. After each page it makes the output durable
(flush + fsync) and only then replaces the state, so the state never claims more than
the output holds; the output may hold more (a page, or a torn line, written after the
last save), and a resumed run truncates it back to the recorded length.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from typing import Any, BinaryIO, Final

import attrs
import orjson

__all__ = [
    "STATE_VERSION",
    "ResumeState",
    "StateError",
    "describe_mismatch",
    "fingerprint",
    "load_state",
    "restore_output",
    "save_state",
    "sync",
]

#: Bumped when the file's layout changes; an unknown version is refused.
STATE_VERSION: Final = 1


class StateError(Exception):
    """The state file or the output it describes cannot be used; the message says why."""


def fingerprint(args: Mapping[str, Any]) -> str:
    """A stable hash of the export arguments that decide the output's content."""
    return hashlib.sha256(orjson.dumps(args, option=orjson.OPT_SORT_KEYS)).hexdigest()


@attrs.frozen(kw_only=True)
class ResumeState:
    """Where an export stands: the next day to fetch and how much output is valid."""

    fingerprint: str
    #: The arguments the fingerprint was made of, kept to explain a mismatch.
    args: Mapping[str, Any]
    next_day: dt.date
    output_bytes: int
    customers: int = 0
    pages: int = 0
    complete: bool = False

    def advanced(self, *, next_day: dt.date, output_bytes: int, customers: int) -> ResumeState:
        """The state after one more page was written."""
        return attrs.evolve(
            self,
            next_day=next_day,
            output_bytes=output_bytes,
            customers=self.customers + customers,
            pages=self.pages + 1,
        )

    def to_json(self) -> bytes:
        """The file's content."""
        return orjson.dumps(
            {
                "version": STATE_VERSION,
                "fingerprint": self.fingerprint,
                "args": self.args,
                "next_day": self.next_day.isoformat(),
                "output_bytes": self.output_bytes,
                "customers": self.customers,
                "pages": self.pages,
                "complete": self.complete,
            },
            option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE,
        )

    @classmethod
    def from_json(cls, data: bytes) -> ResumeState:
        """Parse a state file; `StateError` if it is not one this version wrote."""
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise StateError("not valid JSON") from None
        if not isinstance(obj, dict):
            raise StateError("not a JSON object")
        if obj.get("version") != STATE_VERSION:
            raise StateError(f"unknown version {obj.get('version')!r}")
        try:
            state = cls(
                fingerprint=_typed(obj, "fingerprint", str),
                args=_typed(obj, "args", dict),
                next_day=dt.date.fromisoformat(_typed(obj, "next_day", str)),
                output_bytes=_count(obj, "output_bytes"),
                customers=_count(obj, "customers"),
                pages=_count(obj, "pages"),
                complete=_typed(obj, "complete", bool),
            )
        except ValueError as exc:
            raise StateError(str(exc)) from None
        return state


def _typed(obj: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    value = obj.get(name)
    if type(value) is not kind:
        raise ValueError(f"{name} must be a {kind.__name__}")
    return value


def _count(obj: Mapping[str, Any], name: str) -> int:
    value: int = _typed(obj, name, int)
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def load_state(path: str) -> ResumeState | None:
    """The state saved at ``path``, or ``None`` if there is none yet."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return None
    try:
        return ResumeState.from_json(data)
    except StateError as exc:
        raise StateError(
            f"the resume state {path} is unreadable ({exc}); delete it to start over"
        ) from None


def sync(file: BinaryIO) -> None:
    """Flush ``file`` and make it durable."""
    file.flush()
    os.fsync(file.fileno())


def save_state(path: str, state: ResumeState) -> None:
    """Replace the state file atomically: a reader sees the old state or the new one."""
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as file:
        file.write(state.to_json())
        sync(file)
    os.replace(tmp, path)
    # The rename itself is durable only once its directory is synced; not possible on
    # every platform (Windows cannot open a directory), where this is best effort.
    with contextlib.suppress(OSError):
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def restore_output(path: str, state: ResumeState) -> BinaryIO:
    """Open the output for appending after its last recorded byte, cutting off the rest.

    What follows the recorded length (a torn line, or a page written after the last
    save) is dropped: the resumed walk fetches it again.
    """
    try:
        file = open(path, "r+b")  # noqa: SIM115 - the caller owns and closes it
    except FileNotFoundError:
        raise StateError(
            f"the output {path} is missing, yet the resume state records "
            f"{state.output_bytes} bytes of it; delete the state file to start over"
        ) from None
    try:
        size = os.fstat(file.fileno()).st_size
        if size < state.output_bytes:
            raise StateError(
                f"the output {path} holds {size} bytes, fewer than the "
                f"{state.output_bytes} the resume state records; delete the state file "
                "to start over"
            )
        file.truncate(state.output_bytes)
        file.seek(state.output_bytes)
        sync(file)
    except BaseException:
        file.close()
        raise
    return file


def describe_mismatch(saved: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    """Which arguments differ between a saved state and this run, for the error message."""

    def show(value: object) -> str:
        return "(none)" if value is None else orjson.dumps(value).decode()

    parts = [
        f"{name}: {show(saved.get(name))} there, {show(current.get(name))} here"
        for name in sorted(set(saved) | set(current))
        if saved.get(name) != current.get(name)
    ]
    return "; ".join(parts) or "the arguments differ"
