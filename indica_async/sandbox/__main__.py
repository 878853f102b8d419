"""``python -m indica_async.sandbox``: serve the sandbox until SIGINT or SIGTERM."""

import sys

from ._command import main

if __name__ == "__main__":
    sys.exit(main())
