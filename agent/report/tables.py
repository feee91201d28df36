"""The report's tables as text cells, defined once for the terminal and the page alike."""

from __future__ import annotations

from dataclasses import dataclass

from agent.report.build import Report, duration_text
from agent.report.figures import Figures


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # the HTML id
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    empty: str  # said instead of an empty table


def percent(fraction: float) -> str:
    return f"{round(100 * fraction)} %"


def _days(f: Figures) -> list[tuple[str, ...]]:
    rows = []
    for d in f.days:
        if not d.collected and not d.test_runs and not d.build_runs and not d.ai_accepted:
            rows.append((d.date, "no data", "", "", "", "", "", ""))
            continue
        # A day with runs or AI use but never collected has no hours or commits to show, not zero.
        collected = (
            (
                str(d.active_hours),
                str(d.active_minutes),
                str(d.commits),
                f"+{d.lines_added}/-{d.lines_deleted}",
            )
            if d.collected
            else ("not collected", "", "", "")
        )
        rows.append(
            (
                d.date,
                *collected,
                f"{d.test_runs} ({duration_text(d.test_s)})",
                f"{d.build_runs} ({duration_text(d.build_s)})",
                str(d.ai_accepted),
            )
        )
    return rows


def sections(report: Report) -> list[Section]:
    f = report.figures
    sampled = [g for g in f.groups if g.sampled_runs]
    return [
        Section(
            "days",
            "Active hours per day",
            ("date", "active h", "active min", "commits", "lines +/-", "tests", "builds", "AI accepted"),
            _days(f),
            "",
        ),
        Section(
            "repositories",
            "Commits and lines per repository",
            ("repository", "commits", "lines +", "lines -", "files", "days"),
            [
                (r.name, *map(str, (r.commits, r.lines_added, r.lines_deleted, r.files_changed, r.days)))
                for r in f.repositories
            ],
            "No commits in this period.",
        ),
        Section(
            "runs",
            "Test and build runs",
            ("kind", "runs", "failed", "failure rate", "time"),
            [
                (c.category, str(c.runs), str(c.failed), percent(c.failure_rate), duration_text(c.total_s))
                for c in f.categories
            ]
            if f.groups
            else [],
            "No test or build runs in this period.",
        ),
        Section(
            "slowest",
            "Slowest test and build commands",
            ("tool", "repository", "kind", "runs", "p50", "p95", "max", "failed"),
            [
                (
                    g.tool or "(unnamed)",
                    g.repository or "(none)",
                    g.category,
                    str(g.runs),
                    duration_text(g.p50_s),
                    duration_text(g.p95_s),
                    duration_text(g.max_s),
                    percent(g.failure_rate),
                )
                for g in f.groups
            ],
            "No test or build runs in this period.",
        ),
        Section(
            "waiting",
            "Waiting vs computing (runs past 5 s whose CPU time was sampled)",
            ("command", "runs", "wall", "computing", "waiting", "waiting share"),
            [
                (
                    g.label,
                    str(g.sampled_runs),
                    duration_text(g.sampled_wall_s),
                    duration_text(g.computing_s),
                    duration_text(g.waiting_s),
                    percent(g.waiting_s / g.sampled_wall_s if g.sampled_wall_s else 0.0),
                )
                for g in sampled
            ],
            "No long command had its CPU time sampled in this period.",
        ),
        Section(
            "ai",
            "AI assistant use",
            ("tool", "shown", "accepted", "acceptance", "lines"),
            [(a.tool, str(a.shown), str(a.accepted), percent(a.acceptance), str(a.lines)) for a in f.ai],
            "No AI assistant use recorded in this period.",
        ),
    ]


def sent_table(report: Report) -> Section:
    """§3: what the sent log says left, per sink."""
    return Section(
        "sent",
        "What was sent in this period, per sink",
        ("sink", "sends", "bytes", "days", "what", "answers"),
        [
            (s.sink, str(s.sends), str(s.bytes), ", ".join(s.days), ", ".join(s.what), ", ".join(s.answers))
            for s in report.sent.sinks
        ],
        "Nothing was sent in this period.",
    )


def sent_entries(report: Report) -> Section:
    """The sends themselves, newest first (the page lists them under the per-sink table)."""
    return Section(
        "sent-entries",
        "Each send",
        ("sent at", "sink", "day", "what", "answer", "summary"),
        [
            tuple(e[k] for k in ("sent_at", "sink", "day", "what", "answer", "summary"))
            for e in report.sent.entries
        ],
        "",
    )
