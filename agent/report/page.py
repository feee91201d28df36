"""The report as one self-contained HTML page: inline CSS and inline SVG charts, no script, no
external file, no network, so it opens from disk in any browser and can be mailed as it is."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from agent.report import svg
from agent.report.build import Report, duration_text
from agent.report.figures import CommandGroup
from agent.report.tables import Section, sections, sent_entries, sent_table

TEST, BUILD, HOURS, WAIT, CPU, P50, P95 = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#4e79a7",
    "#a0cbe8",
)

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:0} .totals{font-size:1.05rem} .note{color:#555;font-style:italic}
.leaves{background:#f4f7fb;border-left:4px solid #4e79a7;padding:.6rem 1rem}
.chokepoints li{font-size:1.05rem;margin:.3rem 0}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{padding:.25rem .7rem;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left} th{background:#fafafa}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem} figure{margin:0}
figcaption{font-weight:600;margin-bottom:.3rem}
"""


def _table(section: Section) -> str:
    head = f"<h2 id='{section.key}'>{escape(section.title)}</h2>"
    if not section.rows:
        return head + f"<p class='note'>{escape(section.empty)}</p>" if section.empty else ""
    header = "".join(f"<th>{escape(h)}</th>" for h in section.headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in section.rows)
    return f"{head}<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _figure(caption: str, chart: str, empty: str) -> str:
    inner = chart if chart else f"<p class='note'>{escape(empty)}</p>"
    return f"<figure><figcaption>{escape(caption)}</figcaption>{inner}</figure>"


def _hours(value: float) -> str:
    return f"{value:g} h"


def _minutes(value: float) -> str:
    return duration_text(value * 60)


def _group_rows(
    chart_id: str,
    title: str,
    groups: list[CommandGroup],
    parts: list[tuple[str, Callable[[CommandGroup], float], str]],
    notes: list[str] | None = None,
) -> str:
    """One bar per command group (at most ten), one stacked part per (name, value, colour)."""
    shown = groups[:10]
    series = [svg.Series(name, [value(g) for g in shown], colour) for name, value, colour in parts]
    return svg.rows(chart_id, title, [g.label for g in shown], series, duration_text, notes)


def charts(report: Report) -> str:
    f = report.figures
    dates = [d.date for d in f.days]
    hours = svg.columns(
        "chart-hours",
        "Active hours per day",
        dates,
        [svg.Series("active hours", [d.active_hours for d in f.days], HOURS)],
        _hours,
    )
    loop = svg.columns(
        "chart-loop",
        "Time in tests and builds per day",
        dates,
        [
            svg.Series("tests", [d.test_s / 60 for d in f.days], TEST),
            svg.Series("builds", [d.build_s / 60 for d in f.days], BUILD),
        ],
        _minutes,
    )
    slowest = _group_rows(
        "chart-slowest",
        "Slowest test and build commands (p50 and p95)",
        f.groups,
        [("p50", lambda g: g.p50_s, P50), ("up to p95", lambda g: g.p95_s - g.p50_s, P95)],
        [f"p50 {duration_text(g.p50_s)} · p95 {duration_text(g.p95_s)}" for g in f.groups[:10]],
    )
    waiting = _group_rows(
        "chart-waiting",
        "Waiting vs computing in long commands",
        [g for g in f.groups if g.sampled_runs],
        [("computing", lambda g: g.computing_s, CPU), ("waiting", lambda g: g.waiting_s, WAIT)],
    )
    no_runs = "No test or build runs in this period."
    figures = (
        _figure("Active hours per day", hours, ""),
        _figure("Time in tests and builds per day", loop if f.groups else "", no_runs),
        _figure("Slowest test and build commands", slowest, no_runs),
        _figure(
            "Waiting vs computing in long commands",
            waiting,
            "No long command had its CPU time sampled in this period.",
        ),
    )
    return "<div class='charts'>" + "".join(figures) + "</div>"


def render(report: Report) -> str:
    f = report.figures
    title = f"devtel: your inner loop, {report.start} to {report.end}"
    empty = (
        "<p class='note'>No data for this period: the agent has collected nothing for these dates yet. "
        "Run <code>devtel-agent collect</code>, or leave <code>devtel-agent run</code> running.</p>"
        if f.empty
        else ""
    )
    chokepoints = "".join(f"<li>{escape(c)}</li>" for c in report.chokepoints) or (
        "<li>none: no test or build runs in this period</li>"
    )
    missing = [d.date for d in f.days if not d.collected]
    gap = (
        f"<p class='note'>No collected day for {escape(', '.join(missing))}: "
        "the agent did not run then, or the day is older than its stores keep.</p>"
        if missing and not f.empty
        else ""
    )
    body = (
        f"<h1>{escape(title)}</h1>"
        f"<p class='sub'>{len(f.days)} day(s) from this machine's local data, "
        "made by devtel-agent report.</p>"
        f"<p class='totals' id='totals'>{escape(report.totals)}</p>"
        f"<p class='leaves' id='leaves'>{escape(report.disclosure.leaves)}</p>"
        f"{empty}{gap}"
        f"<h2 id='chokepoints'>Top chokepoints</h2><ol class='chokepoints'>{chokepoints}</ol>"
        f"{charts(report)}"
        + "".join(_table(s) for s in sections(report))
        + _table(sent_table(report))
        + _table(sent_entries(report))
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )
