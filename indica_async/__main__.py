"""``python -m indica_async``: the command line, as the ``indica-async`` script runs it."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
