"""Server-side SVG charts: the same markup in the dashboard and in the mailed scorecard.

No JavaScript and nothing fetched: a chart is a string of SVG that scales to its container
(`viewBox`, width 100%), carries a <title> for screen readers, and marks each data mark with
`class="mark"` and `data-value` so tests can check that it drew the numbers it was given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

PALETTE = (
    "#2563eb", "#f97316", "#16a34a", "#dc2626", "#9333ea",
    "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d",
)  # fmt: skip
Fmt = Callable[[float], str]


def _num(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _axis(v: float, integral: bool = True) -> tuple[float, float]:
    """(top, step) of the y axis: at most four ticks of a round step (1, 2, 2.5, 5 x 10^k);
    whole-number steps for counts."""
    if v <= 0:
        return 1.0, 1.0
    raw = v / 4
    mag = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 2.5, 5, 10) if mag >= 10 else (1, 2, 5, 10)
    step = next(k * mag for k in steps if k * mag >= raw)
    if integral:
        step = max(step, 1.0)
    step = float(f"{step:.6g}")
    return float(f"{step * math.ceil(v / step - 1e-9):.6g}"), step


def _svg(width: int, height: int, title: str, body: list[str], cls: str) -> str:
    return (
        f'<svg class="chart {cls}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def empty(title: str, message: str = "no data yet") -> str:
    return _svg(
        400,
        60,
        title,
        [f'<text x="200" y="35" text-anchor="middle" class="muted">{escape(message)}</text>'],
        "chart-empty",
    )


def hbar(
    items: Sequence[tuple[str, float]],
    title: str,
    *,
    fmt: Fmt = _num,
    notes: Sequence[str] | None = None,
    width: int = 560,
) -> str:
    """Horizontal bars, one row per label (funnels, rankings); `notes` print right of a value."""
    if not items:
        return empty(title)
    row, label_w, pad = 26, 150, 6
    height = row * len(items) + pad * 2
    top = max(v for _, v in items) or 1.0
    tail = max(
        len(fmt(v)) + (len(notes[i]) + 3 if notes and notes[i] else 0)
        for i, (_, v) in enumerate(items)
    )
    tail_w = 16 + 7.5 * tail  # room right of the longest bar for its value and note (bold 12px)
    width = max(width, round(label_w + 200 + tail_w))
    plot_w = width - label_w - tail_w
    body = []
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        w = max(0.0, value) / top * plot_w
        body.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" class="lbl">'
            f"{escape(label[:28])}</text>"
            f'<rect class="mark" data-value="{value}" x="{label_w}" y="{y + 4}" '
            f'width="{w:.1f}" height="{row - 8}" rx="3" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 18}" class="val">{escape(fmt(value))}'
            + (f" · {escape(notes[i])}" if notes and notes[i] else "")
            + "</text>"
        )
    return _svg(width, height, title, body, "chart-hbar")


def vbar(
    items: Sequence[tuple[str, float]],
    title: str,
    *,
    fmt: Fmt = _num,
    width: int = 640,
    height: int = 240,
    color: str = PALETTE[0],
) -> str:
    """Vertical bars over an ordered axis (weeks, months)."""
    if not items:
        return empty(title)
    left, bottom, top_pad = 44, 40, 14
    plot_h = height - bottom - top_pad
    plot_w = width - left - 8
    top, step = _axis(max(v for _, v in items), all(float(v).is_integer() for _, v in items))
    slot = plot_w / len(items)
    bw = max(2.0, slot * 0.7)
    body = _y_axis(left, top_pad, plot_w, plot_h, top, step, fmt)
    every = max(1, len(items) // 8)
    for i, (label, value) in enumerate(items):
        h = max(0.0, value) / top * plot_h
        x = left + i * slot + (slot - bw) / 2
        y = top_pad + plot_h - h
        body.append(
            f'<rect class="mark" data-value="{value}" x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" '
            f'height="{h:.1f}" rx="2" fill="{color}"><title>{escape(label)}: '
            f"{escape(fmt(value))}</title></rect>"
        )
        if i % every == 0:
            body.append(
                f'<text x="{x + bw / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'class="lbl">{escape(label)}</text>'
            )
    return _svg(width, height, title, body, "chart-vbar")


def line(
    series: Sequence[tuple[str, Sequence[float | None]]],
    labels: Sequence[str],
    title: str,
    *,
    fmt: Fmt = _num,
    y_max: float | None = None,
    width: int = 640,
    height: int = 240,
) -> str:
    """One or more lines over shared x labels (trends); None leaves a gap."""
    values = [v for _, vs in series for v in vs if v is not None]
    if not values or not labels:
        return empty(title)
    left, bottom, top_pad = 44, 56, 14
    plot_h = height - bottom - top_pad
    plot_w = width - left - 44  # the last x label is centred on the last point
    top, ystep = _axis(max(values), False) if y_max is None else (y_max, y_max / 4)
    step = plot_w / max(1, len(labels) - 1)
    body = _y_axis(left, top_pad, plot_w, plot_h, top, ystep, fmt)
    every = max(1, len(labels) // 6)
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(
                f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle" class="lbl">{escape(label)}</text>'
            )
    for s, (name, vs) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        pts = [
            (left + i * step, top_pad + plot_h - (v / top * plot_h), v)
            for i, v in enumerate(vs)
            if v is not None
        ]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        for x, y, v in pts:
            body.append(
                f'<circle class="mark" data-value="{v}" cx="{x:.1f}" cy="{y:.1f}" r="3" '
                f'fill="{color}"><title>{escape(name)}: {escape(fmt(v))}</title></circle>'
            )
    body += _legend([n for n, _ in series], left, height - 18, width)
    return _svg(width, height, title, body, "chart-line")


def grouped(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str,
    *,
    fmt: Fmt = _num,
    width: int = 720,
    height: int = 280,
) -> str:
    """Bars per group, one colour per series (e.g. attribution models per channel)."""
    if not groups or not series:
        return empty(title)
    left, bottom, top_pad = 44, 70, 14
    plot_h = height - bottom - top_pad
    plot_w = width - left - 8
    top, ystep = _axis(max((v for _, vs in series for v in vs), default=0), False)
    slot = plot_w / len(groups)
    bw = max(1.5, slot * 0.85 / len(series))
    body = _y_axis(left, top_pad, plot_w, plot_h, top, ystep, fmt)
    for g, group in enumerate(groups):
        x0 = left + g * slot + slot * 0.075
        for s, (name, vs) in enumerate(series):
            v = vs[g]
            h = max(0.0, v) / top * plot_h
            body.append(
                f'<rect class="mark" data-value="{v}" x="{x0 + s * bw:.1f}" '
                f'y="{top_pad + plot_h - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(group)} · {escape(name)}: '
                f"{escape(fmt(v))}</title></rect>"
            )
        body.append(
            f'<text x="{left + g * slot + slot / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" class="lbl">{escape(group[:14])}</text>'
        )
    body += _legend([n for n, _ in series], left, height - 30, width)
    return _svg(width, height, title, body, "chart-grouped")


def _y_axis(
    left: int, top: int, plot_w: float, plot_h: float, vmax: float, step: float, fmt: Fmt
) -> list[str]:
    out = []
    for k in range(round(vmax / step) + 1):
        v = k * step
        y = top + plot_h - plot_h * v / vmax
        out.append(
            f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="lbl">'
            f"{escape(fmt(v))}</text>"
        )
    return out


def _legend(names: Sequence[str], x0: int, y: int, width: int) -> list[str]:
    out, x, line_y = [], float(x0), float(y)
    for i, name in enumerate(names):
        w = 24 + 7.5 * len(name)
        if x + w > width and x > x0:
            x, line_y = float(x0), line_y + 14
        out.append(
            f'<rect x="{x:.0f}" y="{line_y - 9:.0f}" width="10" height="10" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 14:.0f}" y="{line_y:.0f}" class="lbl">{escape(name)}</text>'
        )
        x += w
    return out


CHART_CSS = """
svg.chart{max-width:100%;height:auto;font:12px system-ui,-apple-system,sans-serif}
svg.chart .lbl{fill:#374151} svg.chart .val{fill:#111827;font-weight:600}
svg.chart .muted{fill:#6b7280} svg.chart .grid{stroke:#e5e7eb;stroke-width:1}
"""
