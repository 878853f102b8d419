"""A sandbox serving many accounts at one address: each API key sees its own customers.

The real API scopes every request by its key to one dispensary. ``MultiAccountSandbox``
does the same with one `SandboxConfig` (or one set of records) per key, so a fleet of
account syncs runs end to end without the real API::

    accounts = {f"key-{n}": SandboxConfig(customers=40, seed=n, latency=0.05) for n in range(50)}
    async with MultiAccountSandbox(accounts) as sandbox:
        ...  # a client per key at sandbox.base_url

Each account keeps its own latency, faults, rate limit, plan and counters
(``sandbox.accounts[key].stats``); an unknown key gets the API's 401.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import attrs
from aiohttp import web

from ._config import SandboxConfig
from ._data import generate_customers
from ._records import SandboxRecord, SandboxRecords
from ._server import _Api, _Handler, _LoopbackServer
from ._stats import SandboxStats

__all__ = ["MultiAccountSandbox", "SandboxAccount"]

#: The route names of `_Api.application` and the handler each one runs.
_HANDLERS: Final = {"list": "list_customers", "state": "get_by_state_id", "get": "get"}
#: A key no request can present (headers are text): the account of unknown keys.
_NOBODY: Final = "\x00"


@attrs.define
class SandboxAccount:
    """One account of a `MultiAccountSandbox`: its settings, ground truth and counters."""

    config: SandboxConfig
    records: SandboxRecords
    stats: SandboxStats = attrs.field(factory=SandboxStats)
    _api: _Api | None = attrs.field(default=None, repr=False)

    def set_records(self, records: SandboxRecords) -> None:
        """Serve ``records`` to this account's key from now on."""
        self.records = records
        if self._api is not None:
            self._api.records = records


def _account(
    key: str, given: SandboxConfig | SandboxRecords | Iterable[SandboxRecord]
) -> SandboxAccount:
    if isinstance(given, SandboxConfig):
        config = attrs.evolve(given, api_key=key)
        return SandboxAccount(config, generate_customers(config))
    records = given if isinstance(given, SandboxRecords) else SandboxRecords.from_records(given)
    return SandboxAccount(SandboxConfig(api_key=key), records)


class MultiAccountSandbox(_LoopbackServer):
    """A local IndicaOnline double for many accounts, on ``127.0.0.1`` while open.

    ``accounts`` maps each API key to what it serves: a `SandboxConfig` (customers
    generated from it; its ``api_key`` is replaced by the mapping's key) or records.
    Started once and closed once, like `Sandbox`.
    """

    def __init__(
        self,
        accounts: Mapping[str, SandboxConfig | SandboxRecords | Iterable[SandboxRecord]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not accounts:
            raise ValueError("a multi-account sandbox needs at least one account")
        self.accounts: dict[str, SandboxAccount] = {
            key: _account(key, given) for key, given in accounts.items()
        }
        """Every account by its API key: config, ground truth (``records``) and stats."""
        self._apis: dict[str, _Api] = {}
        self._nobody = _Api(
            SandboxConfig(api_key=_NOBODY), SandboxRecords.from_records([]), SandboxStats()
        )
        super().__init__(host=host, port=port)

    @property
    def requests(self) -> int:
        """Requests served to every account together."""
        return sum(account.stats.requests for account in self.accounts.values())

    def _application(self) -> web.Application:
        # The routes of a single-account sandbox; the middleware picks the account by
        # key and runs that account's own middleware and handler.
        app = web.Application(middlewares=[self._route])
        template = self._nobody.application()
        for resource in template.router.resources():
            info = resource.get_info()
            path = info.get("formatter") or info.get("path")
            assert isinstance(path, str)
            assert resource.name is not None
            app.router.add_get(path, self._unreachable, name=resource.name)
        return app

    async def _unreachable(self, request: web.Request) -> web.StreamResponse:
        raise AssertionError("the middleware answers every request")  # pragma: no cover

    @web.middleware
    async def _route(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        api = self._apis.get(request.headers.get("X-Api-Key", ""), self._nobody)
        route = request.match_info.route.name
        if route is None or request.match_info.http_exception is not None:
            return await api.middleware(request, handler)
        return await api.middleware(request, getattr(api, _HANDLERS[route]))

    async def start(self) -> None:
        """Bind the port and start serving every account."""
        self._check_startable()
        for key, account in self.accounts.items():
            api = _Api(account.config, account.records, account.stats)
            account._api = api
            self._apis[key] = api
        await self._serve(self._application())
