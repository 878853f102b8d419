"""Charts as inline SVG: no script, no font, no network; readable by screen readers.

Each function returns SVG markup with a ``<title>`` naming the chart; every label is
escaped. The numbers are also printed beside each chart as a table, so nothing is
only in the picture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

__all__ = ["PALETTE", "columns", "horizontal_bars", "stacked_columns"]

#: Series colours, chosen to stay apart for the common colour-vision deficiencies.
PALETTE = ("#1b7f5f", "#e69f00", "#56b4e9", "#cc79a7", "#6f6f6f", "#d55e00", "#0072b2")
_AXIS = "#8a8a8a"
_TEXT = "#333333"


def _svg(title: str, width: int, height: int, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value``: four gridline steps of 1, 2 or 5
    times a power of ten."""
    if value <= 0:
        return 4
    power = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * factor * power >= value:
                return 4 * factor * power
        power *= 10


def _grid(left: int, top: int, width: int, height: int, maximum: int) -> list[str]:
    parts = []
    for i in range(5):
        value = maximum * i / 4
        y = top + height - height * i / 4
        parts.append(
            f'<line x1="{left}" x2="{left + width}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e4e4e4"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_TEXT}">'
            f"{value:,.0f}</text>"
        )
    return parts


def _tick_every(count: int, room: float, label_width: float) -> int:
    return max(1, int(label_width // max(room, 1)) + 1) if count else 1


def columns(
    title: str,
    points: Sequence[tuple[dt.date, int]],
    *,
    label: str = "%b %Y",
    trend: tuple[float, float] | None = None,
    width: int = 640,
    height: int = 240,
) -> Markup:
    """A column per period; ``trend`` = ``(first value, slope per column)`` draws a line."""
    left, top, bottom, right = 48, 12, 36, 12
    plot_w, plot_h = width - left - right, height - top - bottom
    maximum = _nice_max(max((count for _, count in points), default=0))
    body = _grid(left, top, plot_w, plot_h, maximum)
    n = max(len(points), 1)
    slot = plot_w / n
    every = _tick_every(n, slot, 56)
    for i, (start, count) in enumerate(points):
        h = plot_h * count / maximum
        x = left + i * slot + slot * 0.1
        body.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(start.strftime(label))}: '
            f"{count:,}</title></rect>"
        )
        if i % every == 0:
            body.append(
                f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle" fill="{_TEXT}">{escape(start.strftime(label))}</text>'
            )
    if trend is not None and len(points) > 1:
        first, slope = trend

        def y_of(value: float) -> float:
            return top + plot_h - plot_h * max(0.0, min(value, maximum)) / maximum

        x1, x2 = left + slot / 2, left + (n - 0.5) * slot
        body.append(
            f'<line x1="{x1:.1f}" y1="{y_of(first):.1f}" x2="{x2:.1f}" '
            f'y2="{y_of(first + slope * (n - 1)):.1f}" stroke="{PALETTE[5]}" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
        )
    body.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{_AXIS}"/>'
    )
    return _svg(title, width, height, body)


def stacked_columns(
    title: str,
    months: Sequence[dt.date],
    series: Mapping[str, Sequence[int]],
    *,
    width: int = 640,
    height: int = 260,
) -> Markup:
    """A column per month, stacked by series, with a legend."""
    left, top, bottom, right = 48, 28, 36, 12
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(months))]
    maximum = _nice_max(max(totals, default=0))
    body = _grid(left, top, plot_w, plot_h, maximum)
    n = max(len(months), 1)
    slot = plot_w / n
    every = _tick_every(n, slot, 56)
    for i, month in enumerate(months):
        y = float(top + plot_h)
        for k, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / maximum
            if h <= 0:
                continue
            y -= h
            body.append(
                f'<rect x="{left + i * slot + slot * 0.1:.1f}" y="{y:.1f}" '
                f'width="{slot * 0.8:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(month.strftime("%b %Y"))}'
                f", {escape(name)}: {values[i]:,}</title></rect>"
            )
        if i % every == 0:
            body.append(
                f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle" fill="{_TEXT}">{escape(month.strftime("%b %Y"))}</text>'
            )
    x = left
    for k, name in enumerate(series):
        body.append(
            f'<rect x="{x}" y="6" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="15" fill="{_TEXT}">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    body.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{_AXIS}"/>'
    )
    return _svg(title, width, height, body)


def horizontal_bars(
    title: str,
    bars: Sequence[tuple[str, int]],
    *,
    total: int | None = None,
    width: int = 420,
    colour: str = PALETTE[0],
) -> Markup:
    """A bar per label, longest first as given; with ``total``, the share is printed."""
    # Room for the longest label at about 6.5 px a character of 11 px text.
    label_w = 16 + int(6.5 * max((len(name) for name, _ in bars), default=4))
    right, row = 90, 24
    height = max(len(bars), 1) * row + 8
    plot_w = width - label_w - right
    maximum = max((count for _, count in bars), default=0) or 1
    body = []
    for i, (name, count) in enumerate(bars):
        y = 4 + i * row
        w = max(plot_w * count / maximum, 1 if count else 0)
        share = f" ({count / total:.0%})" if total else ""
        body.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="{_TEXT}">'
            f"{escape(name)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{escape(name)}: {count:,}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" fill="{_TEXT}">'
            f"{count:,}{share}</text>"
        )
    return _svg(title, width, height, body)
