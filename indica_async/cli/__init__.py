"""The ``indica-async`` command line: ``customers export``, ``customers get``, ``sandbox serve``.

click and rich are the ``cli`` extra: the core SDK never imports them, and this module
only does so when `main` runs. Layout: ``_main`` (the groups), one ``_*_cmd`` module a
command, ``_connect`` (the shared connection options and client), ``_dates`` (the date
option type), ``_running`` (asyncio, signals, SDK warnings), ``_exit`` (statuses).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_MISSING_EXTRA = (
    "indica-async: error: the command line needs click and rich: pip install 'indica-async[cli]'"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError:
        print(_MISSING_EXTRA, file=sys.stderr)
        return 2
    from ._main import run

    return run(argv)
