"""indica-async: an asynchronous SDK for the IndicaOnline open API (v2.3) customers.

async with AsyncIndicaClient() as client:          # key from INDICA_API_KEY
    async for customer in client.customers.iterate(
        start_date="2024-01-01", end_date="2024-12-31"
    ):
        ...
"""

from ._client import AsyncIndicaClient, ClientStats
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_LIMIT,
    DEFAULT_MAX_LIMIT,
    RetryPolicy,
    Timeout,
)
from ._converters import converter, customer_to_dict, customer_to_json
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientStateError,
    ConfigurationError,
    DecodeError,
    IndicaError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    WindowOverflowError,
)
from ._version import __version__
from ._walk import Page, Progress
from ._windows import Window
from .models import (
    Address,
    Customer,
    CustomerType,
    Ethnicity,
    Gender,
    PreferredLanguage,
    Recommendation,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LIMIT",
    "DEFAULT_MAX_LIMIT",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Address",
    "AsyncIndicaClient",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ClientStats",
    "ConfigurationError",
    "Customer",
    "CustomerType",
    "DecodeError",
    "Ethnicity",
    "Gender",
    "IndicaError",
    "InvalidArgumentError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "PreferredLanguage",
    "Progress",
    "RateLimitError",
    "Recommendation",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "Timeout",
    "Window",
    "WindowOverflowError",
    "__version__",
    "converter",
    "customer_to_dict",
    "customer_to_json",
]


def _publish() -> None:
    # Tracebacks, reprs and docs name the public module, as httpx does, not the private
    # one each name is defined in (constants have no module to set).
    public = globals()
    for name in __all__:
        value = public[name]
        if isinstance(value, type) or callable(value):
            value.__module__ = __name__


_publish()
