"""``indica-async customers get``: one customer, by id or state ID, as JSON on stdout."""

from __future__ import annotations

import sys

import click
import orjson

from .. import Customer, customer_to_dict
from ._connect import Connection, connection_options, open_client
from ._running import quiet_broken_pipe, run_async, sdk_warnings

__all__ = ["get_command"]


@click.command("get")
@click.argument("customer_id", type=click.IntRange(min=1), required=False, metavar="[ID]")
@click.option("--state-id", metavar="SID", help="Look the customer up by state ID number.")
@connection_options
def get_command(*, customer_id: int | None, state_id: str | None, connection: Connection) -> None:
    """One customer, by ID or by --state-id, as JSON on stdout (PRO plan only)."""
    if (customer_id is None) == (state_id is None):
        raise click.UsageError("give either a customer ID or --state-id")

    async def fetch() -> Customer:
        async with open_client(connection) as client:
            if state_id is not None:
                return await client.customers.get_by_state_id(state_id)
            assert customer_id is not None
            return await client.customers.get(customer_id)

    with sdk_warnings(show=True):
        customer = run_async(fetch(), base_url=connection.base_url)
    try:
        sys.stdout.buffer.write(
            orjson.dumps(customer_to_dict(customer), option=orjson.OPT_APPEND_NEWLINE)
        )
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        quiet_broken_pipe()
