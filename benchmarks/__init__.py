"""Benchmarks of indica-async against hand-written peers; run ``python -m benchmarks.run``.

``nox -s bench`` installs the peers (httpx, pydantic, msgspec, psutil) and runs them. The
SDK's own dependencies never include them: they are benchmark-only.
"""
