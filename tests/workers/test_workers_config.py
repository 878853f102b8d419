"""The accounts file and where keys come from (pure: no queue, no database)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from procrastinate.jobs import Job

from indica_async import APIConnectionError
from indica_async.sync import ForeignStoreError, NoStoreError, RunInProgressError, StoreError
from indica_async.workers import (
    QUEUE,
    SYNC_TASK,
    AccountConfigError,
    build_app,
    key_variable,
    load_accounts,
    parse_accounts,
)

_TOML = """
[defaults]
since = "2020-01-01"
base_url = "http://127.0.0.1:9/open_api/v2.3"

[accounts.main-street]
api_key = "file-key-1"

[accounts."Bay Area #2"]
since = 2021-06-01
full = true
"""


def test_keys_come_from_the_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(_TOML)
    env = {"INDICA_API_KEY__BAY_AREA__2": "env-key-2"}

    config = load_accounts(path, env)

    assert config.names == ["main-street", "Bay Area #2"]
    main, bay = config.accounts
    assert (main.api_key, main.since, main.full) == ("file-key-1", dt.date(2020, 1, 1), False)
    assert (bay.api_key, bay.since, bay.full) == ("env-key-2", dt.date(2021, 6, 1), True)
    assert bay.base_url == "http://127.0.0.1:9/open_api/v2.3"
    assert config.get("Bay Area #2") is bay


def test_the_environment_overrides_the_file_and_keys_never_show() -> None:
    data = {"accounts": {"main-street": {"api_key": "file-key"}}}

    [account] = parse_accounts(data, {key_variable("main-street"): "env-key"}).accounts

    assert account.api_key == "env-key"
    assert key_variable("main-street") == "INDICA_API_KEY__MAIN_STREET"
    assert "env-key" not in repr(account)


def test_json_files_are_read_too(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text('{"accounts": {"a": {"api_key": "k", "since": "2022-02-02"}}}')

    [account] = load_accounts(path, {}).accounts

    assert (account.name, account.api_key, account.since) == ("a", "k", dt.date(2022, 2, 2))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"accounts": {"a": {}}}, "account 'a' has no API key: set INDICA_API_KEY__A"),
        ({"accounts": {}}, "lists no accounts"),
        ({"accounts": {"a": {"api_key": "k", "key": "x"}}}, "unknown settings key"),
        ({"accounts": {"a": {"api_key": "k", "since": "soon"}}}, "since must be a date"),
        ({"accounts": {"a": {"api_key": "k", "full": "yes"}}}, "full must be true or false"),
        ({"defaults": {"api_key": "k"}, "accounts": {"a": {}}}, "one key per account"),
        ({"account": {}}, "unknown sections account"),
    ],
)
def test_wrong_files_are_refused_with_the_reason(data: dict[str, object], message: str) -> None:
    with pytest.raises(AccountConfigError, match=message):
        parse_accounts(data, {})


@pytest.mark.parametrize("keys", [True, False])
@pytest.mark.parametrize("other", ["main_street", "Main Street", "MAIN-STREET"])
def test_two_accounts_sharing_a_key_variable_are_refused(other: str, keys: bool) -> None:
    data = {"accounts": {"main-street": {"api_key": "a"}, other: {"api_key": "b"}}}
    env = {"INDICA_API_KEY__MAIN_STREET": "leaked"}

    with pytest.raises(AccountConfigError) as caught:
        parse_accounts(data, env, keys=keys)

    assert str(caught.value) == (
        f"accounts 'main-street' and {other!r} share the key variable "
        "INDICA_API_KEY__MAIN_STREET: rename one"
    )
    assert "leaked" not in str(caught.value)


def test_an_unknown_account_and_an_unreadable_file(tmp_path: Path) -> None:
    config = parse_accounts({"accounts": {"a": {"api_key": "k"}}}, {})
    with pytest.raises(AccountConfigError, match="no account 'b'"):
        config.get("b")
    with pytest.raises(AccountConfigError, match="cannot read the accounts file"):
        load_accounts(tmp_path / "missing.toml", {})
    broken = tmp_path / "broken.toml"
    broken.write_text("[accounts\n")
    with pytest.raises(AccountConfigError, match="is not valid"):
        load_accounts(broken, {})


def test_an_enqueuer_needs_the_names_only() -> None:
    data = {"accounts": {"a": {}, "b": {"api_key": "k"}}}

    config = parse_accounts(data, {}, keys=False)

    assert config.names == ["a", "b"]
    assert [account.api_key for account in config.accounts] == ["", "k"]


def test_a_worker_rereads_the_file_only_when_it_changed(tmp_path: Path) -> None:
    from indica_async.workers._engine import _accounts_reader

    path = tmp_path / "accounts.toml"
    path.write_text('[accounts.a]\napi_key = "old"\n')
    read = _accounts_reader(str(path))

    first = read()
    assert read() is first
    path.write_text('[accounts.a]\napi_key = "rotated"\n')
    os.utime(path, ns=(1, 1))

    assert read().get("a").api_key == "rotated"
    path.unlink()
    with pytest.raises(AccountConfigError, match="cannot read the accounts file"):
        read()


@pytest.mark.parametrize(
    ("exception", "retried"),
    [
        (RunInProgressError("busy"), True),
        (APIConnectionError("down"), True),
        (OSError("reset"), True),
        (AccountConfigError("no key"), False),
        (StoreError("the first sync of an account needs since"), False),
        (ForeignStoreError("not ours"), False),
        (NoStoreError("no store"), False),
    ],
)
def test_a_job_is_retried_only_for_what_may_pass(exception: Exception, retried: bool) -> None:
    app = build_app("postgresql://u@127.0.0.1:9/x")  # never connected: no I/O here
    task = app.tasks[SYNC_TASK]
    assert task.retry_strategy is not None
    job = Job(queue=QUEUE, lock=None, queueing_lock=None, task_name=SYNC_TASK, attempts=0)

    decision = task.retry_strategy.get_retry_decision(exception=exception, job=job)

    assert (decision is not None) is retried
