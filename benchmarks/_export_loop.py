"""A streaming JSONL export through the SDK alone: the memory benchmark's fallback tool.

``python -m benchmarks._export_loop --start-date D --end-date D --output PATH
--base-url URL`` (key in ``INDICA_API_KEY``) writes every customer of the range, page by
page, as the CLI's JSONL export does. Used when the CLI (``indica_async.cli`` and its
``cli`` extra) is not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO

import orjson

from indica_async import AsyncIndicaClient, customer_to_dict


async def export(start: dt.date, end: dt.date, stream: BinaryIO, base_url: str) -> int:
    """Write the range to ``stream`` as JSON lines; return how many customers."""
    written = 0
    async with AsyncIndicaClient(os.environ["INDICA_API_KEY"], base_url=base_url) as client:
        async for page in client.customers.pages(start_date=start, end_date=end):
            lines = (orjson.dumps(customer_to_dict(c)) + b"\n" for c in page.customers)
            stream.write(b"".join(lines))
            written += len(page.customers)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and export."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._export_loop")
    parser.add_argument("--start-date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--end-date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--base-url", required=True)
    args = parser.parse_args(argv)
    with open(args.output, "wb") as stream:
        asyncio.run(export(args.start_date, args.end_date, stream, args.base_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
