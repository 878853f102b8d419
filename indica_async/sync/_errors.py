"""The sync engine's errors."""

from __future__ import annotations

from .._errors import IndicaError

__all__ = ["ForeignStoreError", "NoStoreError", "RunInProgressError", "StoreError"]


class StoreError(IndicaError):
    """The store cannot be used: corrupt, from a newer version, or a bad argument."""

    __module__ = "indica_async.sync"


class ForeignStoreError(StoreError):
    """The database is not an indica-async store (another application's, or not a
    database at all); it was left untouched."""

    __module__ = "indica_async.sync"


class NoStoreError(StoreError):
    """There is no store there, and it was opened with ``create=False``."""

    __module__ = "indica_async.sync"


class RunInProgressError(StoreError):
    """Another sync run holds the account (on SQLite: the store's single writer lock)."""

    __module__ = "indica_async.sync"
