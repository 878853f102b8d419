"""The workers suite shares the sync suite's ground truth: ``tests/sync/_world.py``,
loaded by path (not copied, and without putting ``tests/sync`` on ``sys.path``) and
imported by test modules as ``_sync_world``. The PostgreSQL server is
``tests/_postgres.py``'s, registered once for every suite by ``tests/conftest.py``.
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
