"""Where the commands send requests: the API (key from the environment) or a sandbox."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import AsyncIterator
from typing import Any, cast

import attrs

from .._client import AsyncIndicaClient
from ..sandbox import FaultConfig, Sandbox, SandboxConfig
from ..sandbox._config import Distribution
from ._exit import EXIT_AUTH, CLIError

__all__ = ["Connection", "SandboxOptions", "open_client"]


@attrs.frozen(kw_only=True)
class SandboxOptions:
    """The in-process sandbox of ``--sandbox``: its data and how it serves it."""

    customers: int
    seed: int
    distribution: str
    latency: float
    fault_rate: float

    def content_args(self) -> dict[str, Any]:
        """The settings that decide which customers exist (not latency or faults)."""
        return {"customers": self.customers, "seed": self.seed, "distribution": self.distribution}

    def config(self, start: dt.date | None = None, end: dt.date | None = None) -> SandboxConfig:
        """The sandbox's config, its data spanning ``start``..``end`` (default: its own)."""
        try:
            config = SandboxConfig(
                customers=self.customers,
                seed=self.seed,
                distribution=cast(Distribution, self.distribution),
                latency=self.latency,
                faults=FaultConfig(rate=self.fault_rate),
            )
            if start is not None and end is not None:
                config = attrs.evolve(config, start_date=start, end_date=end)
            return config
        except ValueError as exc:
            raise CLIError(f"bad sandbox setting: {exc}") from None


@attrs.frozen(kw_only=True)
class Connection:
    """The options every command that talks to the API shares."""

    #: The API's base URL; ignored with a sandbox.
    base_url: str
    api_key_env: str
    timeout: float | None
    max_retries: int | None
    sandbox: SandboxOptions | None

    def api_key(self) -> str | None:
        """The key from the environment (``None`` with a sandbox, which brings its own)."""
        if self.sandbox is not None:
            return None
        key = os.environ.get(self.api_key_env, "")
        if not key.strip():
            raise CLIError(
                f"no API key: set the {self.api_key_env} environment variable "
                "(or name another with --api-key-env), or try --sandbox",
                EXIT_AUTH,
            )
        return key


@contextlib.asynccontextmanager
async def open_client(
    connection: Connection,
    *,
    api_key: str | None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> AsyncIterator[AsyncIndicaClient]:
    """A client for the API, or for a sandbox started here; both closed on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        base_url = connection.base_url
        if connection.sandbox is not None:
            sandbox = Sandbox(connection.sandbox.config(start, end))
            await stack.enter_async_context(sandbox)
            base_url, api_key = sandbox.base_url, sandbox.api_key
        client = AsyncIndicaClient(
            api_key,
            base_url=base_url,
            timeout=connection.timeout,
            retry=connection.max_retries,
        )
        await stack.enter_async_context(client)
        yield client
