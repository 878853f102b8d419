"""Exit statuses of the command line, and the one-line messages of expected errors."""

from __future__ import annotations

import sys
from typing import Final

from .._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    InvalidArgumentError,
    PermissionDeniedError,
    WindowOverflowError,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REMOTE",
    "EXIT_USAGE",
    "PROG",
    "CLIError",
    "error",
    "exit_code_for",
    "say",
]

PROG: Final = "indica-async"

EXIT_OK: Final = 0
#: A local failure: the output or state file could not be written.
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_AUTH: Final = 3
EXIT_REMOTE: Final = 4
EXIT_INTERRUPTED: Final = 130


class CLIError(Exception):
    """An expected failure: print ``message`` on one line and exit with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def exit_code_for(exc: BaseException) -> int | None:
    """The exit status of an SDK error, or ``None`` for one that is a bug (traceback)."""
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(exc, (InvalidArgumentError, ConfigurationError)):
        return EXIT_USAGE
    if isinstance(exc, (APIError, WindowOverflowError)):
        return EXIT_REMOTE
    return None


def say(message: str) -> None:
    """One line on stderr, prefixed with the program's name."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def error(message: object) -> None:
    """``indica-async: error: <message>`` on one line on stderr."""
    say("error: " + " ".join(str(message).split()))
