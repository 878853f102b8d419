"""Fixtures of the report suite: the sync suite's throwaway PostgreSQL server and its
per-test store targets, imported from ``tests/sync/conftest.py`` (not copied)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_sync_fixtures", Path(__file__).parents[1] / "sync" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_sync_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_sync_fixtures)

postgres_server = _sync_fixtures.postgres_server
postgres_database = _sync_fixtures.postgres_database
store_target = _sync_fixtures.store_target
