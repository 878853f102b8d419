"""The accounts a fleet of workers syncs, and where each one's API key comes from (pure).

An accounts file, TOML or JSON, that the user keeps private::

    [defaults]                      # optional; any account setting
    since = "2020-01-01"            # first creation day, for an account's first run
    base_url = "https://..."        # optional: the API (or a sandbox)

    [accounts.main-street]
    api_key = "..."                 # or leave it out and set INDICA_API_KEY__MAIN_STREET
    since = "2021-06-01"

An environment variable ``INDICA_API_KEY__<NAME>`` (the name upper-cased, every
character other than a letter or digit as ``_``) gives or overrides an account's key.
Keys stay in this process: jobs carry only account names.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, Final

import attrs

from .._errors import IndicaError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "ENV_ACCOUNTS_FILE",
    "ENV_KEY_PREFIX",
    "AccountConfigError",
    "AccountSettings",
    "AccountsConfig",
    "key_variable",
    "load_accounts",
    "parse_accounts",
]

#: The environment variable naming the accounts file when ``--accounts`` is not given.
ENV_ACCOUNTS_FILE: Final = "INDICA_ACCOUNTS_FILE"
#: ``INDICA_API_KEY__<NAME>``: an account's API key from the environment.
ENV_KEY_PREFIX: Final = "INDICA_API_KEY__"
_SETTINGS: Final = frozenset({"api_key", "since", "base_url", "full"})
_NOT_NAME = re.compile(r"[^A-Za-z0-9]")


class AccountConfigError(IndicaError):
    """The accounts file is unreadable or wrong, or names no key for an account."""

    __module__ = "indica_async.workers"


def key_variable(account: str) -> str:
    """The environment variable that holds ``account``'s API key."""
    return ENV_KEY_PREFIX + _NOT_NAME.sub("_", account).upper()


@attrs.frozen
class AccountSettings:
    """One account: its name in the store, its key (never shown), and its options."""

    name: str
    api_key: str = attrs.field(repr=False)
    since: dt.date | None = None
    base_url: str | None = None
    #: Walk the whole range on every scheduled run (changed and deleted customers too).
    full: bool = False


@attrs.frozen
class AccountsConfig:
    """Every configured account, in the file's order."""

    accounts: tuple[AccountSettings, ...]
    _by_name: dict[str, AccountSettings] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        self._by_name.update((account.name, account) for account in self.accounts)

    @property
    def names(self) -> list[str]:
        """The accounts' names, in the file's order."""
        return [account.name for account in self.accounts]

    def get(self, name: str) -> AccountSettings:
        """The account called ``name``; `AccountConfigError` if none is configured."""
        found = self._by_name.get(name)
        if found is None:
            raise AccountConfigError(f"no account {name!r} in the accounts file")
        return found


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise AccountConfigError(f"{where}: since must be a date (YYYY-MM-DD), got {value!r}")


def _settings(
    name: str, values: Mapping[str, Any], env: Mapping[str, str], *, keys: bool
) -> AccountSettings:
    unknown = sorted(set(values) - _SETTINGS)
    if unknown:
        raise AccountConfigError(
            f"account {name!r}: unknown settings {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_SETTINGS))}"
        )
    key = env.get(key_variable(name)) or values.get("api_key") or ("" if not keys else None)
    if not isinstance(key, str) or (keys and not key.strip()):
        raise AccountConfigError(
            f"account {name!r} has no API key: set {key_variable(name)} or api_key in the file"
        )
    base_url = values.get("base_url")
    if base_url is not None and not isinstance(base_url, str):
        raise AccountConfigError(f"account {name!r}: base_url must be a string")
    full = values.get("full", False)
    if not isinstance(full, bool):
        raise AccountConfigError(f"account {name!r}: full must be true or false")
    return AccountSettings(
        name=name,
        api_key=key.strip(),
        since=_date(values.get("since"), f"account {name!r}"),
        base_url=base_url,
        full=full,
    )


def parse_accounts(
    data: Mapping[str, Any], env: Mapping[str, str], *, keys: bool = True
) -> AccountsConfig:
    """The accounts of a parsed file, with keys from ``env`` where it has them.

    With ``keys`` false an account may have no key (``api_key`` is then empty): for
    a process that only enqueues, and so needs the names alone.
    """
    unknown = sorted(set(data) - {"defaults", "accounts"})
    if unknown:
        raise AccountConfigError(f"unknown sections {', '.join(unknown)}: use defaults, accounts")
    defaults = data.get("defaults", {})
    accounts = data.get("accounts")
    if not isinstance(defaults, Mapping):
        raise AccountConfigError("defaults must be a table of settings")
    if "api_key" in defaults:
        raise AccountConfigError("defaults may not hold an api_key: one key per account")
    if not isinstance(accounts, Mapping) or not accounts:
        raise AccountConfigError("the accounts file lists no accounts ([accounts.NAME])")
    found = []
    variables: dict[str, str] = {}
    for name, values in accounts.items():
        if not isinstance(values, Mapping):
            raise AccountConfigError(f"account {name!r} must be a table of settings")
        if not 1 <= len(name) <= 200:
            raise AccountConfigError("an account name is 1 to 200 characters")
        # One variable for two accounts would sync one with the other's key.
        other = variables.setdefault(key_variable(name), name)
        if other != name:
            raise AccountConfigError(
                f"accounts {other!r} and {name!r} share the key variable "
                f"{key_variable(name)}: rename one"
            )
        found.append(_settings(name, {**defaults, **values}, env, keys=keys))
    return AccountsConfig(tuple(found))


def load_accounts(
    path: str | os.PathLike[str], env: Mapping[str, str] | None = None, *, keys: bool = True
) -> AccountsConfig:
    """Read an accounts file (``.json``: JSON; anything else: TOML); see `parse_accounts`."""
    text = os.fspath(path)
    try:
        with open(text, "rb") as file:
            raw = file.read()
    except OSError as exc:
        raise AccountConfigError(f"cannot read the accounts file {text}: {exc.strerror}") from None
    try:
        data = json.loads(raw) if text.endswith(".json") else tomllib.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise AccountConfigError(f"the accounts file {text} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise AccountConfigError(f"the accounts file {text} must hold a table")
    return parse_accounts(data, os.environ if env is None else env, keys=keys)
