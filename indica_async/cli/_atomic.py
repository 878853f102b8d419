"""Output files written whole or not at all: a temporary file renamed on success."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from typing import IO, Any

from ._exit import EXIT_FAILURE, CLIError

__all__ = ["replaceable", "replacing", "temporary_beside"]


def _cannot(path: str, exc: OSError) -> CLIError:
    reason = (exc.strerror or type(exc).__name__).lower()
    return CLIError(f"cannot write {path}: {reason}", EXIT_FAILURE)


def replaceable(path: str) -> bool:
    """True if ``path`` may be written through a temporary file renamed over it: it
    does not exist yet or is a regular file. A device (``/dev/null``), a pipe or a
    socket is written in place: a rename would leave a plain file where it stood."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return True


def temporary_beside(path: str) -> tuple[str, str]:
    """The file a symlink ``path`` points to (renamed over, the link stays a link) and
    a new temporary name next to it: a rename across file systems is no rename."""
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    return target, os.path.join(directory, f".{name}.{secrets.token_hex(6)}.part")


@contextlib.contextmanager
def replacing(path: str, mode: str = "wb", **options: Any) -> Iterator[IO[Any]]:
    """Write ``path`` through a temporary file next to it, renamed over ``path`` when
    the block ends without error; removed otherwise. A file error is a `CLIError`."""
    if not replaceable(path):
        try:
            with open(path, mode, **options) as file:
                yield file
        except OSError as exc:
            raise _cannot(path, exc) from None
        return
    # open(), not mkstemp, so the permissions follow the umask as the output's would.
    target, temporary = temporary_beside(path)
    try:
        file = open(temporary, mode.replace("w", "x"), **options)  # noqa: SIM115
    except OSError as exc:
        raise _cannot(path, exc) from None
    try:
        with file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _cannot(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
