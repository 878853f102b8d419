"""Output files written whole or not at all: a temporary file renamed on success."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from typing import IO, Any

from ._exit import EXIT_FAILURE, CLIError

__all__ = ["replacing"]


def _cannot(path: str, exc: OSError) -> CLIError:
    reason = (exc.strerror or type(exc).__name__).lower()
    return CLIError(f"cannot write {path}: {reason}", EXIT_FAILURE)


@contextlib.contextmanager
def replacing(path: str, mode: str = "wb", **options: Any) -> Iterator[IO[Any]]:
    """Write ``path`` through a temporary file next to it, renamed over ``path`` when
    the block ends without error; removed otherwise. A file error is a `CLIError`."""
    # Next to the output: a rename across file systems is no rename. open(), not
    # mkstemp, so the permissions follow the umask as the output's would.
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.part")
    try:
        file = open(temporary, mode.replace("w", "x"), **options)  # noqa: SIM115
    except OSError as exc:
        raise _cannot(path, exc) from None
    try:
        with file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _cannot(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
