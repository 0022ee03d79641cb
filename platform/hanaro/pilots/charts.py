"""Accessible charts as inline SVG, drawn on the server: no external service, no JavaScript.

Every chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` (referenced by
``aria-labelledby``), Korean labels in the page's font, KRDS colours that keep at least 3:1
contrast against white, and a second cue besides colour: line series differ in dash and marker
shape and are labelled at their ends; bar series differ in fill pattern and bars carry their
values. The page puts the same numbers in a table next to each chart (the text alternative).
Presentation attributes only (``fill``, ``stroke``): the CSP forbids inline ``style``.

A page shows each chart as a :class:`Figure` (templates/_macros/figures.html): heading, summary,
chart, the table alternative and a CSV of the same table (:func:`figure_csv`, downloaded through
:func:`figure_csv_response`).
"""
from __future__ import annotations

from dataclasses import dataclass

import math

from markupsafe import Markup, escape

WIDTH = 720
# KRDS tokens: primary-50, secondary-70, success-60, warning-50, point-60, gray-60 (all >= 4.5:1 on white)
COLOURS = ("#256ef4", "#063a74", "#267337", "#9e6a00", "#ab2b36", "#58616a")
GRID = "#cdd1d5"  # gray-20
AXIS = "#8a949e"  # gray-40
TEXT = "#464c53"  # gray-70
DASHES = ("", "8 4", "2 4", "12 4 2 4", "4 4", "1 3")
FONT = 13


@dataclass
class Figure:
    """One chart of a page with its table alternative (also its CSV)."""

    key: str
    title: str
    summary: str  # one sentence: the chart's <desc> and the line under the heading
    columns: list[str]
    rows: list[list[str]]  # the first cell of each row is its header
    chart: Markup
    note: str | None = None
    text_columns: tuple[int, ...] = ()  # columns (by index) holding words, not numbers


def figure_csv(figure: Figure) -> bytes:
    """The figure's table as CSV for spreadsheets (Hangul readable, no cell run as a formula)."""
    from ..core.spreadsheets import safe_cell, to_csv

    return to_csv([[safe_cell(cell) for cell in row] for row in (figure.columns, *figure.rows)])


def figure_csv_response(figure: Figure, filename: str):
    """The figure's CSV as a download named ``filename`` (Hangul kept in the RFC 5987 name)."""
    from urllib.parse import quote

    from flask import Response

    response = Response(figure_csv(figure), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{quote(filename)}\"; filename*=UTF-8''{quote(filename)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@dataclass(frozen=True)
class Series:
    label: str
    values: list  # numbers, or None for "no data" (a gap in a line)


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _number(value) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else _f(value)


def _open(chart_id: str, title: str, desc: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pilot-chart__svg" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {WIDTH} {_f(height)}" '
        f'width="{WIDTH}" height="{_f(height)}" focusable="false" font-size="{FONT}" fill="{TEXT}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _patterns(chart_id: str, count: int) -> str:
    """One fill per series: solid, then stripes, dots, cross-hatch, horizontal and vertical lines."""
    defs = []
    for i in range(1, count):
        colour = COLOURS[i % len(COLOURS)]
        size, rotate, mark = {
            1: (8, ' patternTransform="rotate(45)"', f'<rect width="4" height="8" fill="{colour}"/>'),
            2: (6, "", f'<circle cx="3" cy="3" r="2" fill="{colour}"/>'),
            3: (8, "", f'<path d="M0 0L8 8M8 0L0 8" stroke="{colour}" stroke-width="2"/>'),
            4: (6, "", f'<rect width="6" height="3" fill="{colour}"/>'),
            5: (6, "", f'<rect width="3" height="6" fill="{colour}"/>'),
        }.get(i % 6, (0, "", ""))
        if size:
            defs.append(f'<pattern id="{chart_id}-fill-{i}" patternUnits="userSpaceOnUse" width="{size}" '
                        f'height="{size}"{rotate}><rect width="{size}" height="{size}" fill="#ffffff"/>{mark}</pattern>')
    return f"<defs>{''.join(defs)}</defs>" if defs else ""


def _fill(chart_id: str, i: int) -> str:
    return COLOURS[i % len(COLOURS)] if i % 6 == 0 else f"url(#{chart_id}-fill-{i})"


def _legend(chart_id: str, series: list[Series], y: float, kind: str) -> list[str]:
    """A row of keys at the top: the swatch repeats the series' pattern or line style."""
    parts, x = [], 8.0
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        if kind == "line":
            dash = f' stroke-dasharray="{DASHES[i % len(DASHES)]}"' if DASHES[i % len(DASHES)] else ""
            parts.append(f'<line x1="{_f(x)}" y1="{_f(y)}" x2="{_f(x + 24)}" y2="{_f(y)}" stroke="{colour}" '
                         f'stroke-width="3"{dash}/>')
            parts.append(_marker(i, x + 12, y, colour))
        else:
            parts.append(f'<rect x="{_f(x)}" y="{_f(y - 7)}" width="24" height="14" fill="{_fill(chart_id, i)}" '
                         f'stroke="{colour}" stroke-width="1.5"/>')
        parts.append(f'<text x="{_f(x + 30)}" y="{_f(y + 4.5)}">{escape(s.label)}</text>')
        x += 30 + _text_width(s.label) + 20
    return parts


def _text_width(text: str, size: float = FONT) -> float:
    """Rough width: Hangul and other wide characters take a full em, the rest about half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in str(text))


def _marker(i: int, x: float, y: float, colour: str) -> str:
    shape = i % 4
    if shape == 0:
        return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="4" fill="{colour}"/>'
    if shape == 1:
        return f'<rect x="{_f(x - 4)}" y="{_f(y - 4)}" width="8" height="8" fill="{colour}"/>'
    if shape == 2:
        return f'<path d="M{_f(x)} {_f(y - 5)}L{_f(x + 5)} {_f(y + 4)}L{_f(x - 5)} {_f(y + 4)}Z" fill="{colour}"/>'
    return (f'<path d="M{_f(x)} {_f(y - 5)}L{_f(x + 5)} {_f(y)}L{_f(x)} {_f(y + 5)}L{_f(x - 5)} {_f(y)}Z" '
            f'fill="{colour}"/>')


def _axis(values: list) -> tuple[float, float]:
    """(maximum, step) of a value axis with about four steps of 1, 2 or 5 times a power of ten;
    whole steps when every value is a whole number (counts)."""
    top = max((v for v in values if v is not None), default=0)
    if top <= 0:
        return 1.0, 1.0
    raw = top / 4
    exponent = math.floor(math.log10(raw))
    step = next(m * 10 ** exponent for m in (1, 2, 5, 10) if m * 10 ** exponent >= raw)
    if all(isinstance(v, int) for v in values if v is not None):
        step = max(step, 1)
    return step * math.ceil(top / step - 1e-9), step


def _y_axis(parts: list[str], left: float, right: float, top: float, bottom: float, maximum: float,
            step: float, unit: str) -> None:
    ticks = round(maximum / step)
    for k in range(ticks + 1):
        value = step * k
        y = bottom - (bottom - top) * value / maximum
        parts.append(f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(right)}" y2="{_f(y)}" stroke="{GRID}" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{_f(left - 6)}" y="{_f(y + 4)}" text-anchor="end">{_f(value)}</text>')
    if unit:
        parts.append(f'<text x="{_f(left - 6)}" y="{_f(top - 12)}" text-anchor="end">{escape(unit)}</text>')


def _x_labels(parts: list[str], labels: list[str], xs: list[float], y: float, every: int) -> None:
    """Every ``every``-th label, counted back from the last (the current week is always named)."""
    last = len(labels) - 1
    for i, (label, x) in enumerate(zip(labels, xs)):
        if (last - i) % every == 0:
            parts.append(f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="middle">{escape(label)}</text>')


def line_chart(chart_id: str, title: str, desc: str, labels: list[str], series: list[Series],
               unit: str = "") -> Markup:
    """Lines over categories (weeks); ``None`` values leave a gap. Each line ends in its label."""
    height = 320.0
    label_room = min(max((_text_width(f"{s.label} 0000") for s in series), default=60) + 20, 240)
    left, right, top, bottom = 56.0, WIDTH - label_room, 64.0, height - 40.0
    maximum, tick = _axis([v for s in series for v in s.values])
    step = (right - left) / max(len(labels) - 1, 1)
    xs = [left + i * step for i in range(len(labels))]

    def y_of(value):
        return bottom - (bottom - top) * value / maximum

    parts = _open(chart_id, title, desc, height)
    parts += _legend(chart_id, series, 20, "line")
    _y_axis(parts, left, right, top, bottom, maximum, tick, unit)
    parts.append(f'<line x1="{_f(left)}" y1="{_f(bottom)}" x2="{_f(right)}" y2="{_f(bottom)}" stroke="{AXIS}"/>')
    _x_labels(parts, labels, xs, bottom + 20, every=4)
    end_labels = []
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        dash = f' stroke-dasharray="{DASHES[i % len(DASHES)]}"' if DASHES[i % len(DASHES)] else ""
        runs, run = [], []
        for x, value in zip(xs, s.values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((x, y_of(value)))
        if run:
            runs.append(run)
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{_f(x)},{_f(y)}" for x, y in run)
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"'
                             f'{dash} stroke-linejoin="round"/>')
            parts += [_marker(i, x, y, colour) for x, y in run]
        last = next((j for j in range(len(s.values) - 1, -1, -1) if s.values[j] is not None), None)
        if last is not None:
            end_labels.append([y_of(s.values[last]), f"{s.label} {_number(s.values[last])}", colour])
    # Direct labels at the right edge, nudged apart so they never overlap.
    end_labels.sort(key=lambda item: item[0])
    for k in range(1, len(end_labels)):
        if end_labels[k][0] - end_labels[k - 1][0] < FONT + 2:
            end_labels[k][0] = end_labels[k - 1][0] + FONT + 2
    for y, text, colour in end_labels:
        parts.append(f'<text x="{_f(right + 10)}" y="{_f(y + 4)}" fill="{colour}" font-weight="700">'
                     f'{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(chart_id: str, title: str, desc: str, labels: list[str], series: list[Series],
                 unit: str = "", label_every: int | None = None) -> Markup:
    """Stacked columns over categories (weeks), each series in its own pattern; totals on top.
    ``label_every``: name every n-th category (default: every 4th when there are more than 8)."""
    height = 320.0
    left, right, top, bottom = 56.0, WIDTH - 16.0, 64.0, height - 40.0
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    maximum, tick = _axis(totals)
    slot = (right - left) / max(len(labels), 1)
    width = max(slot * 0.7, 2)
    parts = _open(chart_id, title, desc, height)
    parts.append(_patterns(chart_id, len(series)))
    parts += _legend(chart_id, series, 20, "bar")
    _y_axis(parts, left, right, top, bottom, maximum, tick, unit)
    xs = [left + slot * (i + 0.5) for i in range(len(labels))]
    for i, x in enumerate(xs):
        base = bottom
        for k, s in enumerate(series):
            value = s.values[i] or 0
            if not value:
                continue
            h = (bottom - top) * value / maximum
            base -= h
            parts.append(f'<rect x="{_f(x - width / 2)}" y="{_f(base)}" width="{_f(width)}" height="{_f(h)}" '
                         f'fill="{_fill(chart_id, k)}" stroke="{COLOURS[k % len(COLOURS)]}" stroke-width="1"/>')
        if totals[i]:
            parts.append(f'<text x="{_f(x)}" y="{_f(base - 4)}" text-anchor="middle" font-size="11">'
                         f'{_number(totals[i])}</text>')
    parts.append(f'<line x1="{_f(left)}" y1="{_f(bottom)}" x2="{_f(right)}" y2="{_f(bottom)}" stroke="{AXIS}"/>')
    _x_labels(parts, labels, xs, bottom + 20, every=label_every or (4 if len(labels) > 8 else 1))
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(chart_id: str, title: str, desc: str, labels: list[str], series: list[Series],
              unit: str = "", value_labels: list[str] | None = None) -> Markup:
    """Horizontal bars, one row per category (long Korean names fit on the left); several series
    are stacked, each in its own pattern; each row ends in its total (or ``value_labels``)."""
    row = 30.0
    label_width = min(max((_text_width(label) for label in labels), default=40) + 16, 240)
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    ends = value_labels or [f"{_number(total)}{unit}" for total in totals]
    # Room on the right for the longest end label (bold: a little wider than regular text).
    value_room = min(max(90.0, max((_text_width(text) * 1.1 + 12 for text in ends), default=0)), 260)
    left, right = label_width + 8, WIDTH - value_room
    top = 48.0 if len(series) > 1 else 20.0
    height = top + row * max(len(labels), 1) + 16
    maximum, _tick = _axis(totals)
    parts = _open(chart_id, title, desc, height)
    parts.append(_patterns(chart_id, len(series)))
    if len(series) > 1:
        parts += _legend(chart_id, series, 18, "bar")
    parts.append(f'<line x1="{_f(left)}" y1="{_f(top - 4)}" x2="{_f(left)}" y2="{_f(height - 12)}" stroke="{AXIS}"/>')
    for i, label in enumerate(labels):
        y = top + row * i
        parts.append(f'<text x="{_f(left - 8)}" y="{_f(y + row / 2 + 4)}" text-anchor="end">{escape(label)}</text>')
        x = left
        for k, s in enumerate(series):
            value = s.values[i] or 0
            if not value:
                continue
            w = (right - left) * value / maximum
            parts.append(f'<rect x="{_f(x)}" y="{_f(y + 5)}" width="{_f(w)}" height="{_f(row - 10)}" '
                         f'fill="{_fill(chart_id, k)}" stroke="{COLOURS[k % len(COLOURS)]}" stroke-width="1"/>')
            x += w
        parts.append(f'<text x="{_f(x + 6)}" y="{_f(y + row / 2 + 4)}" font-weight="700">{escape(ends[i])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
