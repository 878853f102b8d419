"""The work behind ``customers report`` (imports SQLAlchemy and Jinja2)."""

from __future__ import annotations

import contextlib
import datetime as dt

import orjson

from ..report import Report, build_report, render_html, write_action_list_csv
from ..sync import Store, StoreError
from ._atomic import replacing
from ._sync_run import store_errors

__all__ = ["load_report", "store_errors", "summary_lines", "write_outputs"]


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def summary_lines(report: Report) -> list[str]:
    """The terminal summary: aggregates only, never a name or a contact."""
    store = report.store
    head = (
        f"report of {store.account!r} as of {report.generated_on}: "
        f"{store.active:,} active customers "
        f"({store.deleted:,} deleted and {store.missing:,} no longer listed left out)"
    )
    if report.empty:
        return [head, "the store holds no active customers for this account: nothing to chart"]
    trend = report.growth.trend
    lines = [head]
    if trend.last_month is not None:
        change = f" ({trend.change:+.0%} on the month before)" if trend.change is not None else ""
        lines.append(
            f"new customers: {trend.last_month.count:,} in "
            f"{trend.last_month.start:%B %Y}{change}; trend {trend.direction}"
        )
    else:
        latest = report.growth.months[-1]
        lines.append(f"new customers: {latest.count:,} in {latest.start:%B %Y} so far")
    rec, sid = report.expirations.buckets["recommendation"], report.expirations.buckets["state_id"]
    lines.append(
        "expiring within 30/60/90 days: recommendations "
        f"{rec[0]:,}/{rec[1]:,}/{rec[2]:,}, state IDs {sid[0]:,}/{sid[1]:,}/{sid[2]:,}"
    )
    reach = report.marketing
    lines.append(
        "reachable: "
        + ", ".join(
            f"{channel.name} {channel.reachable:,} ({_percent(channel.reachable, reach.customers)})"
            for channel in reach.channels
        )
    )
    quality = report.data_quality
    lines.append(
        f"data quality: {quality.missing_email:,} without email, {quality.missing_phone:,} "
        f"without phone; {quality.shared_emails:,} emails and {quality.shared_phones:,} "
        "phones shared by several customers"
    )
    last = report.changes.last_run
    if last is not None:
        lines.append(
            f"last sync (run {last.id}, {last.mode}): {last.new:,} new, {last.changed:,} "
            f"changed, {last.deleted:,} deleted"
        )
    return lines


async def load_report(db: str, account: str, *, today: dt.date) -> Report:
    """Build the report from the store; an account with no completed sync is unknown, an
    error unless the store holds no account at all (then the report says it is empty)."""
    async with Store(db, create=False) as store:
        every = await store.accounts()
        # A failed first run records its account too (to keep its error): a mistyped
        # --account must not pass for a real one.
        synced = [found.name for found in every if found.synced_through is not None]
        if every and account not in synced:
            holds = ", ".join(synced) or "no account synced yet"
            raise StoreError(f"no account named {account!r} in the store (it holds: {holds})")
        return await build_report(store, account, today=today)


def write_outputs(
    report: Report,
    *,
    output: str,
    action_list_csv: str | None,
    json_path: str | None,
    json_action_list: bool = False,
) -> list[str]:
    """Write the page (and the CSV and JSON asked for), all or none; the lines saying where."""
    lines = []
    with contextlib.ExitStack() as stack:
        # Every file is opened before any is written: one that cannot be leaves none.
        page = stack.enter_context(replacing(output, "w", encoding="utf-8"))
        csv_file = (
            None
            if action_list_csv is None
            else stack.enter_context(replacing(action_list_csv, "w", encoding="utf-8", newline=""))
        )
        json_file = None if json_path is None else stack.enter_context(replacing(json_path, "wb"))
        page.write(render_html(report))
        lines.append(f"report written to {output}")
        if csv_file is not None:
            rows = write_action_list_csv(report, csv_file)
            lines.append(f"action list: {rows:,} rows (personal data) written to {action_list_csv}")
        if json_file is not None:
            data = report.to_json(action_list=json_action_list)
            json_file.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
            with_list = " and the action list (personal data)" if json_action_list else ""
            lines.append(f"figures{with_list} written to {json_path}")
    return lines
