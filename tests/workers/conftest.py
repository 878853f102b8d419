"""Fixtures of the workers suite: the sync suite's throwaway PostgreSQL server, reused.

The server fixture lives in ``tests/sync/conftest.py``; it is loaded from there (not
copied) so both suites start PostgreSQL the same way, and skip the same way where the
machine has no server binaries.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

_SYNC_TESTS = pathlib.Path(__file__).resolve().parent.parent / "sync"
# _world (the ground truth in the store's shape) is imported from the sync suite too.
sys.path.insert(0, str(_SYNC_TESTS))
_spec = importlib.util.spec_from_file_location("_sync_fixtures", _SYNC_TESTS / "conftest.py")
assert _spec is not None
assert _spec.loader is not None
_sync_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_sync_fixtures)

postgres_server = _sync_fixtures.postgres_server
postgres_database = _sync_fixtures.postgres_database
