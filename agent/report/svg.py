"""Bar charts as inline SVG text, so the page needs no script, no library and no network.

Two shapes cover the report: stacked columns over the days, and stacked horizontal bars for
named rows. Every bar carries its value as text, so the numbers read without hovering.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

FONT = "font-family='system-ui, sans-serif' font-size='11'"


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str


def _legend(series: Sequence[Series], y: int) -> str:
    parts, x = [], 0
    for s in series:
        parts.append(
            f"<rect x='{x}' y='{y - 9}' width='10' height='10' fill='{s.colour}'/>"
            f"<text x='{x + 14}' y='{y}' {FONT}>{escape(s.name)}</text>"
        )
        x += 24 + 7 * len(s.name)
    return "".join(parts)


def _bar(x: float, y: float, w: float, h: float, colour: str, tip: str) -> str:
    """One bar with its value as a tooltip."""
    return (
        f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.1f}' height='{h:.1f}' fill='{colour}'>"
        f"<title>{escape(tip)}</title></rect>"
    )


def _svg(chart_id: str, title: str, width: int, height: int, body: str) -> str:
    return (
        f"<svg id='{chart_id}' class='chart' role='img' aria-label='{escape(title)}' "
        f"viewBox='0 0 {width} {height}' width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def columns(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[float], str],
    height: int = 220,
) -> str:
    """Stacked columns, one per label (a day), with each column's total written above it."""
    step = max(26, min(70, 700 // max(1, len(labels))))
    top, bottom, plot_h = 34, 40, height - 74
    width = 40 + step * len(labels)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = max(totals, default=0.0) or 1.0
    parts = [_legend(series, 12)]
    parts.append(f"<line x1='30' y1='{top + plot_h}' x2='{width}' y2='{top + plot_h}' stroke='#999'/>")
    for i, label in enumerate(labels):
        x, base = 34 + i * step, top + plot_h
        for s in series:
            h = plot_h * s.values[i] / peak
            if h > 0:
                parts.append(
                    _bar(x, base - h, step - 8, h, s.colour, f"{label} {s.name}: {fmt(s.values[i])}")
                )
                base -= h
        parts.append(
            f"<text class='value' x='{x + (step - 8) / 2}' y='{base - 3:.1f}' text-anchor='middle' {FONT}>"
            f"{escape(fmt(totals[i]))}</text>"
        )
        # Days read as month-day; the year is in the page's heading.
        short = label[5:] if len(label) == 10 else label
        parts.append(
            f"<text x='{x + (step - 8) / 2}' y='{top + plot_h + 14}' text-anchor='middle' {FONT}>"
            f"{escape(short)}</text>"
        )
    return _svg(chart_id, title, width, height - bottom + 26, "".join(parts))


def rows(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[float], str],
    notes: Sequence[str] | None = None,
    width: int = 720,
) -> str:
    """Stacked horizontal bars, one per label, each followed by its note (default: its parts);
    no labels, no chart."""
    if not labels:
        return ""
    label_w, bar_w, row_h, top = 240, width - 240 - 150, 22, 24
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = max(totals, default=0.0) or 1.0
    parts = [_legend(series, 12)]
    for i, label in enumerate(labels):
        y, x = top + i * row_h, label_w
        parts.append(
            f"<text x='{label_w - 6}' y='{y + 14}' text-anchor='end' {FONT}>{escape(label[:40])}</text>"
        )
        for s in series:
            w = bar_w * s.values[i] / peak
            if w > 0:
                parts.append(_bar(x, y + 3, w, row_h - 6, s.colour, f"{label} {s.name}: {fmt(s.values[i])}"))
                x += w
        text = notes[i] if notes is not None else " + ".join(fmt(s.values[i]) for s in series)
        parts.append(f"<text class='value' x='{x + 6:.1f}' y='{y + 14}' {FONT}>{escape(text)}</text>")
    return _svg(chart_id, title, width, top + row_h * len(labels) + 6, "".join(parts))
