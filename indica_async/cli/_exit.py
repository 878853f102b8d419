"""Exit statuses of the command line, and the one-line messages of expected failures."""

from __future__ import annotations

import sys
from typing import IO, Final
from urllib.parse import urlsplit

import click

from .. import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    IndicaError,
    InvalidArgumentError,
    PermissionDeniedError,
    WindowOverflowError,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REMOTE",
    "EXIT_USAGE",
    "PROG",
    "CLIError",
    "Interrupted",
    "describe",
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
#: Ctrl-C or SIGTERM.
EXIT_INTERRUPTED: Final = 130
#: The reader of stdout went away (``| head``), as for a process killed by SIGPIPE.
EXIT_BROKEN_PIPE: Final = 141


class CLIError(click.ClickException):
    """An expected failure: ``indica-async: error: <message>`` on stderr, exit ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        # click reads the status from the instance; it declares a class default only.
        self.exit_code = code  # type: ignore[misc]

    def show(self, file: IO[str] | None = None) -> None:
        say("error: " + " ".join(self.format_message().split()), file=file)


class Interrupted(CLIError):
    """Ctrl-C or SIGTERM: ``indica-async: <message>`` (no ``error:``), exit 130."""

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message, EXIT_INTERRUPTED)

    def show(self, file: IO[str] | None = None) -> None:
        say(self.format_message(), file=file)


def exit_code_for(exc: BaseException) -> int | None:
    """The exit status of an SDK error, or ``None`` for one that is a bug (traceback)."""
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(exc, (InvalidArgumentError, ConfigurationError)):
        return EXIT_USAGE
    if isinstance(exc, (APIError, WindowOverflowError)):
        return EXIT_REMOTE
    return None


def _where(base_url: str | None) -> str:
    if not base_url:
        return ""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def describe(exc: IndicaError, *, max_limit: int | None = None, base_url: str | None = None) -> str:
    """The message a person reads for an SDK error: in the command line's words."""
    if isinstance(exc, WindowOverflowError):
        if exc.server_cap is not None:
            return (
                f"{exc.day.isoformat()} holds at least {exc.count:,} customers, and the server "
                f"returns at most {exc.server_cap:,} per request whatever --max-limit asks: "
                "the export stopped before that day rather than miss any"
            )
        return (
            f"{exc.day.isoformat()} holds at least {exc.count:,} customers, as many as one "
            f"request may fetch with --max-limit {exc.max_limit}: the export stopped before "
            "that day rather than miss any. Raise --max-limit (if the server allows larger "
            "pages) and run again"
        )
    if isinstance(exc, APITimeoutError) and base_url:
        return f"{exc} (server {_where(base_url)})"
    if isinstance(exc, APIConnectionError) and base_url:
        return f"{exc} (server {_where(base_url)})"
    return str(exc)


def say(message: str, *, file: IO[str] | None = None) -> None:
    """One line on stderr, prefixed with the program's name."""
    print(f"{PROG}: {message}", file=file or sys.stderr, flush=True)
