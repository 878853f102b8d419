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
        ├── DecodeError           the body is not what the API documents
        └── ResponseTooLargeError the body outgrew max_response_size (decompressed)

No exception text, ``repr``, ``args`` or attribute ever holds the API key or a
customer's field values: error text is built only from what the SDK knows (status,
method, path template, window), never from the bytes of a response body, which a
server may fill with an echoed key or a state ID. Context is given when an exception
is built; `with_context` builds a copy with more of it instead of changing one in flight.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypeVar

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
    "ResponseTooLargeError",
    "ServerError",
    "WindowOverflowError",
    "with_context",
]

_E = TypeVar("_E", bound="APIError")
_T = TypeVar("_T", bound=BaseException)


class IndicaError(Exception):
    """Base class of every exception raised by indica-async."""


class ConfigurationError(IndicaError):
    """The client cannot be built as configured (no key, insecure URL, bad setting)."""


class InvalidArgumentError(IndicaError, ValueError):
    """An argument is invalid; raised before any request is sent."""


class ClientStateError(IndicaError, RuntimeError):
    """The client is closed, not yet opened, or used from a different event loop."""


class WindowOverflowError(IndicaError):
    """A single day returned as many customers as the API will give, so some could be missed.

    ``day`` is that day, ``count`` how many it returned, ``max_limit`` the largest limit
    the caller allowed, and ``server_cap`` the server's own cap on ``limit`` when one was
    detected below it (then no ``max_limit`` can help).
    """

    def __init__(
        self, day: dt.date, count: int, max_limit: int, *, server_cap: int | None = None
    ) -> None:
        self.day = day
        self.count = count
        self.max_limit = max_limit
        self.server_cap = server_cap
        if server_cap is not None and server_cap < max_limit:
            advice = (
                f"the server caps limit at {server_cap}, below max_limit={max_limit}, "
                "so the API cannot return that day completely"
            )
        else:
            advice = f"that is max_limit={max_limit}: raise max_limit to export it completely"
        super().__init__(
            f"{day.isoformat()} returned {count} customers and may hold more; {advice}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(vars(self))))


class APIError(IndicaError):
    """A request to the API failed.

    ``method`` and ``path`` name the request (a path template where the path would hold
    personal data, never the key); ``window`` is the date window a walk was fetching.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        window: Window | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.window = window

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method and self.path else ""
        window = f" [window {self.window}]" if self.window is not None else ""
        return f"{self.message}{where}{window}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors defeat the default pickling (and `copy`) of exceptions.
        return (_restore, (type(self), self.args, dict(vars(self))))


def with_context(
    error: _E,
    *,
    method: str | None = None,
    path: str | None = None,
    window: Window | None = None,
) -> _E:
    """A copy of ``error`` with the context given added; ``error`` itself is unchanged.

    Raise the copy ``from None`` with ``error``'s traceback: the exception a caller
    sees is built whole, never edited while it propagates through other code.
    """
    state = dict(vars(error))
    for name, value in (("method", method), ("path", path), ("window", window)):
        if value is not None:
            state[name] = value
    copy = _restore(type(error), error.args, state)
    return copy.with_traceback(error.__traceback__)


def _restore(cls: type[_T], args: tuple[object, ...], state: dict[str, object]) -> _T:
    error = cls.__new__(cls, *args)
    error.args = args
    vars(error).update(state)
    return error


class APIStatusError(APIError):
    """The server answered with an error status.

    Nothing of the response body is kept: an error body is undocumented, and may echo
    the key or a customer's data. ``status`` is the HTTP status.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str | None = None,
        path: str | None = None,
        window: Window | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, window=window)
        self.status = status

    def __str__(self) -> str:
        return f"{self.status} {super().__str__()}"


class BadRequestError(APIStatusError):
    """400 or 422: the server rejected the request's parameters."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the business's plan does not allow this endpoint (lookups need PRO)."""


class NotFoundError(APIStatusError):
    """404: no such customer (or it was deleted)."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's wait in seconds, if given."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str | None = None,
        path: str | None = None,
        window: Window | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, method=method, path=path, window=window)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server failed."""


class APIConnectionError(APIError):
    """The connection could not be made, was dropped, or the body was cut short."""


class APITimeoutError(APIConnectionError):
    """No complete answer arrived within the timeout."""


class DecodeError(APIError):
    """The response is not what the API documents.

    ``field`` is the path of the offending field (``"address.zip"``, ``"[3].id"``) and
    ``expected`` the type wanted; the value itself is never included.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        expected: str | None = None,
        method: str | None = None,
        path: str | None = None,
        window: Window | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, window=window)
        self.field = field
        self.expected = expected


class ResponseTooLargeError(APIError):
    """The response body grew past the client's ``max_response_size`` (decompressed).

    Reading stops there, so memory stays bounded; the call is not retried. ``limit``
    is the size, in bytes, that was exceeded.
    """

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
