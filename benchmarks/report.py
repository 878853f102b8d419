"""``python -m benchmarks.report``: build the customer report over a large store.

The store is filled directly, in bulk, with the sandbox's synthetic customers (a sync
of a million customers would take far longer and measure the sync, not the report):
one account, every customer active and dated to its creation day, one run, and a
thousand changes. Then ``build_report`` and ``render_html`` are timed, ``--rounds``
times; the figures go to stdout.

    python -m benchmarks.report --customers 1000000 --db /tmp/report-bench.sqlite
    python -m benchmarks.report --customers 1000000 --db postgresql://user@host/db
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson

from indica_async.report import build_report, render_html
from indica_async.sandbox import SandboxConfig, generate_customers
from indica_async.sync import Store
from indica_async.sync import _schema as schema

_BATCH = 20_000


def _rows(customers: int, today: dt.date) -> Iterator[tuple[Any, ...]]:
    config = SandboxConfig(
        customers=customers,
        start_date=today - dt.timedelta(days=3 * 365),
        end_date=today,
        distribution="growing",
    )
    records = generate_customers(config)
    for index, record in enumerate(records):
        yield (1, record.id, records.raw(index).decode(), record.created)


async def _fill(target: str, customers: int, today: dt.date) -> float:
    started = time.perf_counter()
    async with Store(target) as store:
        now = dt.datetime.now(dt.timezone.utc)
        async with store.write() as connection:
            await connection.execute(
                schema.accounts.insert().values(
                    id=1, name="bench", since=today - dt.timedelta(days=3 * 365),
                    synced_through=today, created_at=now,
                )
            )  # fmt: skip
            await connection.execute(
                schema.runs.insert().values(
                    id=1, account_id=1, mode="full", start_date=today, end_date=today,
                    started_at=now, finished_at=now, outcome="completed", listed=customers,
                    changed=1000,
                )
            )  # fmt: skip
        if store.backend == "sqlite":
            await asyncio.to_thread(_fill_sqlite, target, customers, today)
        else:
            await _fill_postgresql(store, customers, today)
    return time.perf_counter() - started


def _customer_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    account, customer_id, data, created = row
    return (account, customer_id, data, "active", None, created, created, 1, 1)


def _change_rows(customers: list[int]) -> list[tuple[Any, ...]]:
    fields = (["email"], ["phone", "address.zip"], ["type"])
    return [
        (1, 1, customer_id, "changed", orjson.dumps(fields[i % 3]).decode(), "{}", "{}")
        for i, customer_id in enumerate(customers)
    ]


def _fill_sqlite(path: str, customers: int, today: dt.date) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        insert = (
            "INSERT INTO customers (account_id, customer_id, data, status, status_run, "
            "first_window_start, first_window_end, first_run, last_seen_run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        batch: list[tuple[object, ...]] = []
        ids: list[int] = []
        for row in _rows(customers, today):
            values = _customer_row(row)
            batch.append((*values[:5], values[5].isoformat(), values[6].isoformat(), *values[7:]))
            if len(ids) < 1000:
                ids.append(row[1])
            if len(batch) == _BATCH:
                connection.executemany(insert, batch)
                batch.clear()
        connection.executemany(insert, batch)
        connection.executemany(
            "INSERT INTO changes (account_id, run_id, customer_id, kind, fields, before, after)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            _change_rows(ids),
        )
        connection.execute("COMMIT")
    finally:
        connection.close()


async def _fill_postgresql(store: Store, customers: int, today: dt.date) -> None:
    async with store.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        rows = [_customer_row(row) for row in _rows(customers, today)]
        await driver.copy_records_to_table(
            "customers",
            records=rows,
            columns=[
                "account_id", "customer_id", "data", "status", "status_run",
                "first_window_start", "first_window_end", "first_run", "last_seen_run",
            ],
        )  # fmt: skip
        await driver.copy_records_to_table(
            "changes",
            records=_change_rows([row[1] for row in rows[:1000]]),
            columns=["account_id", "run_id", "customer_id", "kind", "fields", "before", "after"],
        )
        await driver.execute("ANALYZE")


async def _time_report(
    target: str, today: dt.date, rounds: int
) -> list[tuple[float, float, float]]:
    times = []
    async with Store(target, create=False) as store:
        for _ in range(rounds):
            started, cpu = time.perf_counter(), time.process_time()
            report = await build_report(store, "bench", today=today)
            built = time.perf_counter() - started
            # CPU time of this process: what the build costs when the machine is busy.
            cpu = time.process_time() - cpu
            started = time.perf_counter()
            html = render_html(report)
            rendered = time.perf_counter() - started
            times.append((built, cpu, rendered))
            print(
                f"  round: build {built:.2f} s ({cpu:.2f} s CPU), render {rendered:.2f} s "
                f"({len(html) / 1e6:.2f} MB, {report.store.active:,} customers, "
                f"{len(report.expirations.action_list):,} on the action list)",
                file=sys.stderr,
            )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--db", required=True, help="a new SQLite file or an empty database URL")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="time the report over a store filled before"
    )
    args = parser.parse_args()
    today = dt.date.today()
    if not args.reuse:
        if "://" not in args.db and os.path.exists(args.db):
            parser.error(f"{args.db} exists: give a new file, or --reuse it")
        filled = asyncio.run(_fill(args.db, args.customers, today))
        print(f"filled {args.customers:,} customers in {filled:.1f} s", file=sys.stderr)
    times = asyncio.run(_time_report(args.db, today, args.rounds))
    builds = [built for built, _, _ in times]
    cpus = [cpu for _, cpu, _ in times]
    renders = [rendered for _, _, rendered in times]
    print(
        f"| {args.customers:,} | {'sqlite' if '://' not in args.db else 'postgresql'} | "
        f"{statistics.median(builds):.1f} s (min {min(builds):.1f}) | "
        f"{statistics.median(cpus):.1f} s | {statistics.median(renders):.2f} s |"
    )


if __name__ == "__main__":
    main()
