"""A local IndicaOnline double: the customers endpoints of open API v2.3 on aiohttp.web.

It serves synthetic customers that are deterministic from a seed, keeps the ground
truth at hand for comparison, injects faults (429s, 5xx with JSON or HTML bodies,
dropped connections, truncated bodies, latency spikes), can rate-limit, and counts
what it saw::

    async with Sandbox(SandboxConfig(customers=500, limit_cap=200)) as sandbox:
        ...  # a client at sandbox.base_url with sandbox.api_key
        assert sandbox.stats.max_in_flight <= 8

``python -m indica_async.sandbox`` runs the same server standalone.
"""

from ._accounts import MultiAccountSandbox, SandboxAccount
from ._changes import (
    SandboxChanges,
    add_customers,
    change_customers,
    delete_customers,
    mutate,
)
from ._command import main
from ._config import (
    DEFAULT_API_KEY,
    DEFAULT_CUSTOMERS,
    DEFAULT_LIST_LIMIT,
    FAULT_KINDS,
    Distribution,
    Envelope,
    FaultConfig,
    FaultKind,
    Plan,
    SandboxConfig,
)
from ._data import (
    BURST_FACTOR,
    CUSTOMER_FIELDS,
    UNKNOWN_ENUM_SHARE,
    UNKNOWN_ENUM_VALUES,
    VENDOR_SAMPLE,
    VENDOR_SAMPLE_ID,
    generate_customers,
)
from ._records import SandboxRecord, SandboxRecords
from ._server import API_PREFIX, Sandbox, run_server, serve
from ._stats import ListRequest, SandboxStats

__all__ = [
    "API_PREFIX",
    "BURST_FACTOR",
    "CUSTOMER_FIELDS",
    "DEFAULT_API_KEY",
    "DEFAULT_CUSTOMERS",
    "DEFAULT_LIST_LIMIT",
    "FAULT_KINDS",
    "UNKNOWN_ENUM_SHARE",
    "UNKNOWN_ENUM_VALUES",
    "VENDOR_SAMPLE",
    "VENDOR_SAMPLE_ID",
    "Distribution",
    "Envelope",
    "FaultConfig",
    "FaultKind",
    "ListRequest",
    "MultiAccountSandbox",
    "Plan",
    "Sandbox",
    "SandboxAccount",
    "SandboxChanges",
    "SandboxConfig",
    "SandboxRecord",
    "SandboxRecords",
    "SandboxStats",
    "add_customers",
    "change_customers",
    "delete_customers",
    "generate_customers",
    "main",
    "mutate",
    "run_server",
    "serve",
]
