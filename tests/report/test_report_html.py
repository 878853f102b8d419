"""The report's page: self-contained, escaped, personal data only in the action list,
drawn by a real headless Chromium without a console error; and the command."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import sys
import time
from pathlib import Path

import attrs
import orjson
import pytest

from indica_async.report import action_list_csv, build_report, render_html
from indica_async.sync import Store

from ._browser import chromium, open_page
from ._filled import TODAY, Filled, fill

#: The charts of a full report (growth x2, types, expiring, channels, consents, ages,
#: genders, languages, cities, zips, quality, changed fields).
CHARTS = 13

_CHART_SIZES = """JSON.stringify(Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  const marks = Array.from(svg.querySelectorAll('rect, line')).filter(mark => {
    const size = mark.getBoundingClientRect();
    return size.width > 0 || size.height > 0;
  });
  return [box.width, box.height, marks.length, svg.querySelector('title').textContent];
}))"""


@pytest.fixture
async def filled(tmp_path: Path) -> Filled:
    return await fill(os.fspath(tmp_path / "customers.sqlite"))


def _outside_action_list(html: str) -> str:
    start = html.index('<div class="personal">')
    end = html.index("</div>", html.index("</table>", start))
    return html[:start] + html[end:]


def _personal_values(filled: Filled) -> set[str]:
    values = set()
    for record in filled.changes.records:
        body = record.body
        for field in ("email", "phone", "state_id"):
            if body.get(field):
                values.add(body[field])
        recommendation = body.get("recommendation") or {}
        if recommendation.get("number"):
            values.add(recommendation["number"])
    return values


def test_the_page_is_self_contained_and_charts_only_aggregates(filled: Filled) -> None:
    html = render_html(filled.report)

    assert html.count('<svg class="chart"') == CHARTS
    assert "<script" not in html.lower()
    # Nothing to fetch: no src, no link, no url(), no @import (the SVG namespace is a name).
    assert not re.search(r"\b(src|href)\s*=|url\(|@import|<link", html, re.IGNORECASE)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) == {"http://www.w3.org/2000/svg"}
    shown = _outside_action_list(html)
    leaked = [value for value in _personal_values(filled) if value in shown]
    assert leaked == []
    # The action list does show them, and says it is personal data.
    first = filled.report.expirations.action_list[0]
    assert first.email is None or first.email in html
    assert "contains personal data" in html


def test_customer_text_is_escaped(filled: Filled) -> None:
    item = attrs.evolve(
        filled.report.expirations.action_list[0],
        first_name="<script>alert(1)</script>",
        last_name='"><img src=x onerror=alert(2)>',
    )
    expirations = attrs.evolve(filled.report.expirations, action_list=(item,))
    html = render_html(attrs.evolve(filled.report, expirations=expirations))

    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html


def test_the_action_list_csv_holds_every_row(filled: Filled) -> None:
    rows = list(csv.DictReader(io.StringIO(action_list_csv(filled.report))))
    items = filled.report.expirations.action_list
    assert len(rows) == len(items) > 0
    assert [(int(row["customer_id"]), row["what"], row["expires_on"]) for row in rows] == [
        (item.customer_id, item.what, item.expires_on.isoformat()) for item in items
    ]
    assert {row["email_allowed"] for row in rows} <= {"yes", "no"}


async def test_an_empty_report_says_so(tmp_path: Path) -> None:
    async with Store(tmp_path / "customers.sqlite") as store:
        html = render_html(await build_report(store, "shop", today=TODAY))
    assert "No customers to report on" in html
    assert "no account named <b>shop</b>" in html
    assert "<svg" not in html


@pytest.mark.skipif(
    chromium() is None, reason="no chromium binary on PATH (apt-get install chromium)"
)
async def test_chromium_draws_every_chart_without_a_console_error(
    filled: Filled, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(filled.report), encoding="utf-8")
    binary = chromium()
    assert binary is not None

    started = time.monotonic()
    load = await open_page(binary, page.as_uri(), _CHART_SIZES)
    sys.stderr.write(f"chromium: page loaded and measured in {time.monotonic() - started:.1f} s\n")

    assert load.errors == []
    assert load.requests == [page.as_uri()]
    assert len(load.value) == CHARTS
    for width, height, marks, title in load.value:
        assert width > 100 and height > 20, title
        assert marks > 0, title


async def test_a_broken_page_is_caught_by_the_browser_check(tmp_path: Path) -> None:
    """The check above can fail: a console error, a request, a chart of no size."""
    binary = chromium()
    if binary is None:
        pytest.skip("no chromium binary on PATH (apt-get install chromium)")
    page = tmp_path / "broken.html"
    page.write_text(
        '<svg class="chart" width="0" height="0"><title>t</title><rect/></svg>'
        '<script>console.error("boom")</script><img src="missing.png">',
        encoding="utf-8",
    )
    load = await open_page(binary, page.as_uri(), _CHART_SIZES)
    assert any("boom" in error for error in load.errors)
    assert any(url.endswith("missing.png") for url in load.requests)
    assert load.value == [[0, 0, 0, "t"]]


async def test_the_command_writes_the_page_csv_and_json(filled: Filled, tmp_path: Path) -> None:
    store = tmp_path / "customers.sqlite"
    out, table, figures = tmp_path / "r.html", tmp_path / "due.csv", tmp_path / "r.json"
    env = {**os.environ, "INDICA_API_KEY": "key-that-must-not-appear"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "default", "-m", "indica_async", "customers", "report",
        "--db", os.fspath(store), "--account", "shop", "--as-of", TODAY.isoformat(),
        "--output", os.fspath(out), "--action-list-csv", os.fspath(table),
        "--json", os.fspath(figures),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    text = stderr.decode()

    assert process.returncode == 0, text
    assert stdout == b""
    assert f"{filled.report.store.active:,} active customers" in text
    assert "Traceback" not in text and "Warning" not in text
    assert out.read_text(encoding="utf-8") == render_html(filled.report)
    assert table.read_text(encoding="utf-8") == action_list_csv(filled.report)
    # --json is the figures alone: the action list (personal data) only when asked for.
    assert orjson.loads(figures.read_bytes()) == filled.report.to_json(action_list=False)
    assert f"figures written to {figures}" in text
    for written in (text, out.read_text(), figures.read_text()):
        assert "key-that-must-not-appear" not in written
        assert "open_api" not in written
    assert not [value for value in _personal_values(filled) if value in text]
    assert not [value for value in _personal_values(filled) if value in figures.read_text()]

    with_list = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "indica_async", "customers", "report",
        "--db", os.fspath(store), "--account", "shop", "--as-of", TODAY.isoformat(),
        "--output", os.fspath(out), "--json", os.fspath(figures), "--json-action-list",
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(with_list.communicate(), 90)
    assert with_list.returncode == 0, err.decode()
    assert f"figures and the action list (personal data) written to {figures}" in err.decode()
    assert orjson.loads(figures.read_bytes()) == filled.report.to_json()
    assert filled.report.expirations.action_list

    missing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "indica_async", "customers", "report", "--db",
        os.fspath(store), "--account", "nope", "--output", os.fspath(tmp_path / "x.html"),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await missing.communicate()
    assert missing.returncode == 1
    assert "no account named 'nope' in the store (it holds: shop)" in err.decode()
    assert not (tmp_path / "x.html").exists()


async def test_the_command_on_an_empty_store_says_it_is_empty(tmp_path: Path) -> None:
    store = tmp_path / "customers.sqlite"
    async with Store(store):
        pass
    out = tmp_path / "report.html"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "default", "-m", "indica_async", "customers", "report",
        "--db", os.fspath(store), "--output", os.fspath(out),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 90)
    text = err.decode()
    assert process.returncode == 0, text
    assert "0 active customers" in text and "nothing to chart" in text
    assert "Traceback" not in text and "Warning" not in text
    assert "No customers to report on" in out.read_text(encoding="utf-8")

    absent = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "indica_async", "customers", "report",
        "--db", os.fspath(tmp_path / "none.sqlite"), "--output", os.fspath(out),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await absent.communicate()
    assert absent.returncode == 1
    assert "no store at" in err.decode()
    assert not (tmp_path / "none.sqlite").exists()
