"""Fixtures of the workers suite: the sync suite's throwaway PostgreSQL server, reused.

The server fixture lives in ``tests/sync/conftest.py``, and the ground truth's shape
in ``tests/sync/_world.py``; both are loaded from there by path (not copied, and
without putting ``tests/sync`` on ``sys.path``, where its conftest would shadow
``tests/conftest.py``), so both suites start PostgreSQL the same way and skip the same
way where the machine has no server binaries. Test modules import the world as
``_sync_world``.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from types import ModuleType

_SYNC_TESTS = pathlib.Path(__file__).resolve().parent.parent / "sync"


def _load(name: str, filename: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, _SYNC_TESTS / filename)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_load("_sync_world", "_world.py")
_sync_fixtures = _load("_sync_fixtures", "conftest.py")

postgres_server = _sync_fixtures.postgres_server
postgres_database = _sync_fixtures.postgres_database
