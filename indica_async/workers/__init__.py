"""Sync many accounts at once: one job per account on procrastinate, a PostgreSQL queue.

::

    indica-async accounts sync-all --db postgresql://... --accounts accounts.toml
    indica-async accounts worker --db postgresql://... --accounts accounts.toml

or from Python: `enqueue_accounts` and `run_worker`. Needs the ``workers`` extra
(procrastinate, psycopg) besides ``sync``. See ``docs/workers.md``.
"""

from ._config import (
    ENV_ACCOUNTS_FILE,
    ENV_KEY_PREFIX,
    AccountConfigError,
    AccountsConfig,
    AccountSettings,
    key_variable,
    load_accounts,
    parse_accounts,
)
from ._engine import (
    DEFAULT_CONCURRENCY,
    DEFAULT_HEARTBEAT,
    DEFAULT_STALLED_AFTER,
    QUEUE,
    SYNC_TASK,
    EnqueueReport,
    account_lock,
    build_app,
    check_database,
    enqueue_accounts,
    ensure_schema,
    recover_stalled_jobs,
    run_worker,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_STALLED_AFTER",
    "ENV_ACCOUNTS_FILE",
    "ENV_KEY_PREFIX",
    "QUEUE",
    "SYNC_TASK",
    "AccountConfigError",
    "AccountSettings",
    "AccountsConfig",
    "EnqueueReport",
    "account_lock",
    "build_app",
    "check_database",
    "enqueue_accounts",
    "ensure_schema",
    "key_variable",
    "load_accounts",
    "parse_accounts",
    "recover_stalled_jobs",
    "run_worker",
]
