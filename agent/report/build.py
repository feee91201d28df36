"""One report: the period, its figures, the chokepoints in plain words, and what leaves.

The terminal, JSON and HTML views all render this one object, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import Settings
from agent.consent import Consent
from agent.report import disclosure as D
from agent.report.figures import CommandGroup, Figures, compute
from agent.report.stores import load_period


@dataclass(frozen=True, slots=True)
class Report:
    start: dt.date
    end: dt.date
    figures: Figures
    disclosure: D.Disclosure
    sent: D.SentSection

    @property
    def totals(self) -> str:
        """The period in one line."""
        f = self.figures
        tests, builds = (next(c for c in f.categories if c.category == k) for k in ("test", "build"))
        return (
            f"{sum(d.active_hours for d in f.days)} active hour(s) on {sum(d.collected for d in f.days)} "
            f"collected day(s), {sum(r.commits for r in f.repositories)} commit(s), "
            f"{tests.runs} test run(s) ({duration_text(tests.total_s)}), "
            f"{builds.runs} build(s) ({duration_text(builds.total_s)}), "
            f"{sum(a.accepted for a in f.ai)} AI suggestion(s) accepted"
        )

    @property
    def chokepoints(self) -> list[str]:
        return [chokepoint_text(g) for g in self.figures.chokepoints]


def duration_text(seconds: float) -> str:
    """Short and human: 12.3 s, 4m10s, 3.2 h."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes}m{rest:02d}s"
    return f"{seconds / 3600:.1f} h"


def chokepoint_text(group: CommandGroup) -> str:
    """ "pytest in api: 41 runs, 3.2 h, p95 4m10s, 30 % failed" """
    return (
        f"{group.label}: {group.runs} run{'s' if group.runs != 1 else ''}, {duration_text(group.total_s)}, "
        f"p95 {duration_text(group.p95_s)}, {round(100 * group.failure_rate)} % failed"
    )


def build(
    settings: Settings,
    consent: Consent,
    dates: list[dt.date],
    sent: D.SentProvider,
    zone: dt.tzinfo | None = None,
) -> Report:
    home: Path = settings.home
    return Report(
        start=dates[0],
        end=dates[-1],
        figures=compute(load_period(home, dates, zone)),
        disclosure=D.disclosure(consent, settings),
        sent=D.sent_section(sent, home, dates[0], dates[-1]),
    )


def _with_properties(obj: Any, *names: str) -> dict[str, Any]:
    data = dataclasses.asdict(obj)
    data.update({name: round(getattr(obj, name), 6) for name in names})
    return data


def to_dict(report: Report) -> dict[str, Any]:
    """The ``--json`` shape: every figure of the terminal view, durations in seconds."""
    f = report.figures
    return {
        "period": {"start": report.start.isoformat(), "end": report.end.isoformat(), "days": len(f.days)},
        "days": [dataclasses.asdict(d) for d in f.days],
        "repositories": [dataclasses.asdict(r) for r in f.repositories],
        "runs": [_with_properties(c, "failure_rate") for c in f.categories],
        "commands": [
            _with_properties(g, "failure_rate", "waiting_s", "computing_s") | {"label": g.label}
            for g in f.groups
        ],
        "ai": [_with_properties(a, "acceptance") for a in f.ai],
        "chokepoints": report.chokepoints,
        "totals": report.totals,
        "leaves_the_machine": dataclasses.asdict(report.disclosure),
        "sent": dataclasses.asdict(report.sent),
    }
