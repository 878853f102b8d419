"""Running a command's coroutine: asyncio's runner, Ctrl-C and SIGTERM, SDK warnings.

`run_async` turns what can go wrong into `CLIError`s, which click's standalone mode
prints and exits with: the commands never print errors or pick statuses themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, NoReturn, TypeVar

from .. import IndicaError
from ._exit import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    CLIError,
    Interrupted,
    describe,
    exit_code_for,
    say,
)

__all__ = ["quiet_broken_pipe", "run_async", "sdk_warnings"]

T = TypeVar("T")


def run_async(
    coro: Coroutine[Any, Any, T],
    *,
    interrupted: str = "interrupted",
    failure_note: str | Callable[[], str] = "",
    max_limit: int | None = None,
    base_url: str | None = None,
) -> T:
    """Run ``coro`` to the end; Ctrl-C or SIGTERM cancel it at an await point.

    An SDK error becomes a `CLIError` with its exit status, an interruption an
    `Interrupted` (status 130) saying ``interrupted``, a local file error status 1;
    ``failure_note`` (or what it returns, asked after the failure) ends the message of
    all three: what the failure left behind.
    A `CLIError` raised by ``coro`` passes as it is.
    """

    async def main() -> T:
        # SIGTERM takes Ctrl-C's path: asyncio's runner then cancels this task, lets
        # the `finally` blocks run (the resume state stays valid) and raises
        # KeyboardInterrupt. Not on Windows loops, which have no signal handlers.
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, signal.raise_signal, signal.SIGINT)
        try:
            return await coro
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGTERM)

    def note() -> str:
        return failure_note() if callable(failure_note) else failure_note

    try:
        if sys.version_info >= (3, 11):
            with asyncio.Runner() as runner:
                return runner.run(main())
        return asyncio.run(main())  # pragma: no cover - Python 3.10
    except KeyboardInterrupt:
        raise Interrupted(interrupted + note()) from None
    except IndicaError as exc:
        code = exit_code_for(exc)
        if code is None:
            raise
        message = describe(exc, max_limit=max_limit, base_url=base_url)
        raise CLIError(message + note(), code) from None
    except BrokenPipeError:
        quiet_broken_pipe()
        raise  # not reached: quiet_broken_pipe exits
    except OSError as exc:
        # A local file: the output, the state file (permissions, disk full, ...).
        raise CLIError(str(exc) + note(), EXIT_FAILURE) from None


def quiet_broken_pipe() -> NoReturn:
    """The reader of stdout went away (``| head``): exit quietly, as Unix tools do.

    stdout is pointed at /dev/null first, so that Python's flush at exit does not
    print a second error.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(EXIT_BROKEN_PIPE)


class _WarningLines(logging.Handler):
    """The SDK's log warnings (retries, unverified days) as ``indica-async: warning:`` lines.

    ``sys.stderr`` is looked up at each record: while the progress bar runs, rich has
    replaced it to print such lines above the bar.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            say("warning: " + " ".join(self.format(record).split()))
        except Exception:  # a log line must never break the export
            self.handleError(record)


@contextlib.contextmanager
def sdk_warnings(*, show: bool) -> Iterator[None]:
    """Show (or hide) the SDK's warnings on stderr while the block runs; restored after."""
    logger = logging.getLogger("indica_async")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logger.handlers[:] = [_WarningLines() if show else logging.NullHandler()]
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers[:], level, logger.propagate = saved
        logger.setLevel(level)
