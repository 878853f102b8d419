"""The exceptions indica-async raises. Every one derives from `IndicaError`.

    IndicaError
    ├── ConfigurationError        missing API key, insecure base URL, bad setting
    ├── InvalidArgumentError      bad id, date, range or limit (raised before any request)
    ├── ClientStateError          client closed, or used from another event loop
    ├── WindowOverflowError       one day holds more customers than the maximum limit
    └── APIError                  a request failed; carries method, path and window
        ├── APIStatusError        the server answered with an error status
        │   ├── BadRequestError         400, 422
        │   ├── AuthenticationError     401
        │   ├── PermissionDeniedError   403 (the endpoint needs the PRO plan)
        │   ├── NotFoundError           404
        │   ├── RateLimitError          429
        │   └── ServerError             5xx
        ├── APIConnectionError    the connection failed or the body was cut short
        │   └── APITimeoutError   no answer within the timeout
        └── DecodeError           the body is not what the API documents

No exception text or ``repr`` ever holds the API key or a customer's field values.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._windows import Window

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConfigurationError",
    "DecodeError",
    "IndicaError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "WindowOverflowError",
]


class IndicaError(Exception):
    """Base class of every exception raised by indica-async."""

    __module__ = "indica_async"


class ConfigurationError(IndicaError):
    """The client cannot be built as configured (no key, insecure URL, bad setting)."""

    __module__ = "indica_async"


class InvalidArgumentError(IndicaError, ValueError):
    """An argument is invalid; raised before any request is sent."""

    __module__ = "indica_async"


class ClientStateError(IndicaError, RuntimeError):
    """The client is closed, not yet opened, or used from a different event loop."""

    __module__ = "indica_async"


class WindowOverflowError(IndicaError):
    """A single day holds at least ``max_limit`` customers, so some could be missed."""

    __module__ = "indica_async"

    def __init__(self, day: dt.date, count: int, limit: int) -> None:
        self.day = day
        self.count = count
        self.limit = limit
        super().__init__(
            f"{day.isoformat()} returned {count} customers at limit={limit}, the maximum "
            "allowed: that day may hold more; raise max_limit to export it completely"
        )


class APIError(IndicaError):
    """A request to the API failed. ``method`` and ``path`` name it (never the key)."""

    __module__ = "indica_async"

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        #: The date window being fetched when the error happened, set by `pages`/`iterate`.
        self.window: Window | None = None

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method and self.path else ""
        window = f" [window {self.window}]" if self.window is not None else ""
        return f"{self.message}{where}{window}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class APIStatusError(APIError):
    """The server answered with an error status; ``body`` is a short excerpt of its body."""

    __module__ = "indica_async"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: str = "",
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status = status
        self.body = body

    def __str__(self) -> str:
        base = f"{self.status} {super().__str__()}"
        return f"{base}: {self.body}" if self.body else base


class BadRequestError(APIStatusError):
    """400 or 422: the server rejected the request's parameters."""

    __module__ = "indica_async"


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""

    __module__ = "indica_async"


class PermissionDeniedError(APIStatusError):
    """403: the business's plan does not allow this endpoint (lookups need PRO)."""

    __module__ = "indica_async"


class NotFoundError(APIStatusError):
    """404: no such customer (or it was deleted)."""

    __module__ = "indica_async"


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's wait in seconds, if given."""

    __module__ = "indica_async"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: str = "",
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, body=body, method=method, path=path)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server failed."""

    __module__ = "indica_async"


class APIConnectionError(APIError):
    """The connection could not be made, was dropped, or the body was cut short."""

    __module__ = "indica_async"


class APITimeoutError(APIConnectionError):
    """No complete answer arrived within the timeout."""

    __module__ = "indica_async"


class DecodeError(APIError):
    """The response is not what the API documents.

    ``field`` is the path of the offending field (``"address.zip"``, ``"[3].id"``) and
    ``expected`` the type wanted; the value itself is never included.
    """

    __module__ = "indica_async"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        expected: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.field = field
        self.expected = expected


class ResponseTooLargeError(APIError):
    """The response body grew past the client's ``max_response_size`` (decompressed).

    Reading stops there, so memory stays bounded; the call is not retried. ``limit``
    is the size, in bytes, that was exceeded.
    """

    __module__ = "indica_async"

    def __init__(
        self,
        limit: int,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(
            f"the response body exceeded max_response_size={limit} bytes", method=method, path=path
        )
        self.limit = limit
