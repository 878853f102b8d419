"""The sync suite's fixtures (the PostgreSQL server, ``store_target``) are in
``tests/_postgres.py``, registered once for every suite by ``tests/conftest.py``."""
