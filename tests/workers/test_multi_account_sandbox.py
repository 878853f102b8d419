"""MultiAccountSandbox: each key sees its own customers, latency and counters."""

from __future__ import annotations

import datetime as dt

import pytest

from indica_async import AsyncIndicaClient, AuthenticationError, NotFoundError
from indica_async.sandbox import MultiAccountSandbox, SandboxConfig

START, END = dt.date(2024, 1, 1), dt.date(2024, 3, 31)


def _config(customers: int, seed: int) -> SandboxConfig:
    return SandboxConfig(customers=customers, seed=seed, start_date=START, end_date=END)


async def test_each_key_lists_and_gets_only_its_own_customers() -> None:
    async with MultiAccountSandbox({"key-a": _config(30, 1), "key-b": _config(45, 2)}) as sandbox:
        a, b = sandbox.accounts["key-a"], sandbox.accounts["key-b"]
        assert set(a.records.ids) != set(b.records.ids)
        for key, account in sandbox.accounts.items():
            async with AsyncIndicaClient(key, base_url=sandbox.base_url) as client:
                listed = [
                    c.id async for c in client.customers.iterate(start_date=START, end_date=END)
                ]
                assert sorted(listed) == sorted(account.records.ids)
        async with AsyncIndicaClient("key-a", base_url=sandbox.base_url) as client:
            only_b = next(i for i in b.records.ids if i not in set(a.records.ids))
            with pytest.raises(NotFoundError):
                await client.customers.get(only_b)
            assert (await client.customers.get(a.records.ids[0])).id == a.records.ids[0]
        assert a.stats.requests > 0
        assert b.stats.requests > 0
        assert sandbox.requests == a.stats.requests + b.stats.requests


async def test_an_unknown_key_is_refused_like_the_api_does() -> None:
    async with MultiAccountSandbox({"key-a": _config(5, 1)}) as sandbox:
        async with AsyncIndicaClient("key-z", base_url=sandbox.base_url, retry=0) as client:
            with pytest.raises(AuthenticationError):
                await client.customers.get(1)
        assert sandbox.accounts["key-a"].stats.requests == 0


async def test_set_records_changes_what_one_account_serves() -> None:
    async with MultiAccountSandbox({"key-a": _config(10, 1), "key-b": _config(10, 2)}) as sandbox:
        b = sandbox.accounts["key-b"]
        sandbox.accounts["key-a"].set_records(b.records)
        async with AsyncIndicaClient("key-a", base_url=sandbox.base_url) as client:
            listed = [c.id async for c in client.customers.iterate(start_date=START, end_date=END)]
        assert sorted(listed) == sorted(b.records.ids)


def test_a_sandbox_of_no_account_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one account"):
        MultiAccountSandbox({})
