"""The figures of a developer's period, computed from the stored days: pure functions, no I/O.

Test and build runs are grouped per (category, tool, repository) over the whole period, so a
p95 is one of the period's real durations (nearest rank), not an average of daily p95s.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from agent.day import CommandRun
from agent.report.stores import StoredDay

LOOP_CATEGORIES = ("test", "build")  # the inner loop's waits the report is about
CHOKEPOINTS = 3


@dataclass(frozen=True, slots=True)
class DayFigures:
    date: str
    collected: bool  # False: the agent has no collected day for this date
    active_hours: int
    active_minutes: int
    commits: int
    lines_added: int
    lines_deleted: int
    test_runs: int
    test_s: float
    build_runs: int
    build_s: float
    ai_accepted: int


@dataclass(frozen=True, slots=True)
class RepositoryFigures:
    name: str
    commits: int
    lines_added: int
    lines_deleted: int
    files_changed: int
    days: int


@dataclass(frozen=True, slots=True)
class CommandGroup:
    """All test (or build) runs of one tool in one repository ("" outside any) in the period."""

    category: str
    tool: str
    repository: str
    runs: int
    failed: int
    interrupted: int
    total_s: float
    p50_s: float
    p95_s: float
    max_s: float
    sampled_runs: int  # runs whose CPU time was sampled (those past 5 s)
    sampled_wall_s: float
    cpu_s: float

    @property
    def failure_rate(self) -> float:
        return self.failed / self.runs if self.runs else 0.0

    @property
    def waiting_s(self) -> float:
        """Wall time of the sampled runs not spent on a CPU: downloads, locks, sleeps, I/O."""
        return max(0.0, self.sampled_wall_s - self.cpu_s)

    @property
    def computing_s(self) -> float:
        return self.sampled_wall_s - self.waiting_s

    @property
    def label(self) -> str:
        where = f"in {self.repository}" if self.repository else "outside a repository"
        return f"{self.tool or self.category} {where}"


@dataclass(frozen=True, slots=True)
class CategoryFigures:
    category: str
    runs: int
    failed: int
    total_s: float

    @property
    def failure_rate(self) -> float:
        return self.failed / self.runs if self.runs else 0.0


@dataclass(frozen=True, slots=True)
class AiFigures:
    tool: str
    shown: int
    accepted: int
    lines: int

    @property
    def acceptance(self) -> float:
        return self.accepted / self.shown if self.shown else 0.0


@dataclass(frozen=True, slots=True)
class Figures:
    days: list[DayFigures]
    repositories: list[RepositoryFigures]
    categories: list[CategoryFigures]
    groups: list[CommandGroup]  # slowest first (by p95)
    ai: list[AiFigures]

    @property
    def chokepoints(self) -> list[CommandGroup]:
        """Where the period's waiting went: the groups that cost the most time in total."""
        return sorted(self.groups, key=lambda g: (-g.total_s, g.label))[:CHOKEPOINTS]

    @property
    def empty(self) -> bool:
        return not any(d.collected for d in self.days) and not self.groups and not self.ai


def nearest_rank(ordered: list[float], fraction: float) -> float:
    """A duration some run really took (the same rule as the day summaries the agent sends)."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else 0.0


def compute(period: list[StoredDay]) -> Figures:
    loop = [c for d in period for c in d.commands if c.category in LOOP_CATEGORIES]
    return Figures(
        days=[_day(d) for d in period],
        repositories=_repositories(period),
        categories=[_category(cat, [c for c in loop if c.category == cat]) for cat in LOOP_CATEGORIES],
        groups=_groups(loop),
        ai=_ai(period),
    )


def _seconds(commands: Iterable[CommandRun]) -> float:
    return sum(c.duration_s for c in commands)


def _day(stored: StoredDay) -> DayFigures:
    day = stored.day
    tests = [c for c in stored.commands if c.category == "test"]
    builds = [c for c in stored.commands if c.category == "build"]
    repos = day.repositories if day else []
    return DayFigures(
        date=stored.date.isoformat(),
        collected=day is not None,
        active_hours=day.active_hours if day else 0,
        active_minutes=day.active_minutes if day else 0,
        commits=sum(r.commits for r in repos),
        lines_added=sum(r.lines_added for r in repos),
        lines_deleted=sum(r.lines_deleted for r in repos),
        test_runs=len(tests),
        test_s=_seconds(tests),
        build_runs=len(builds),
        build_s=_seconds(builds),
        ai_accepted=sum(r.accepted for r in stored.ai),
    )


def _repositories(period: list[StoredDay]) -> list[RepositoryFigures]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for stored in period:
        for repo in stored.day.repositories if stored.day else []:
            row = totals[repo.name]
            for index, value in enumerate(
                (repo.commits, repo.lines_added, repo.lines_deleted, repo.files_changed, 1)
            ):
                row[index] += value
    return sorted(
        (RepositoryFigures(name, *row) for name, row in totals.items()), key=lambda r: (-r.commits, r.name)
    )


def _category(category: str, runs: list[CommandRun]) -> CategoryFigures:
    return CategoryFigures(category, len(runs), sum(c.outcome == "failure" for c in runs), _seconds(runs))


def _groups(loop: list[CommandRun]) -> list[CommandGroup]:
    grouped: dict[tuple[str, str, str], list[CommandRun]] = defaultdict(list)
    for c in loop:
        grouped[(c.category, c.tool, c.repository)].append(c)
    groups = []
    for (category, tool, repository), runs in grouped.items():
        ordered = sorted(c.duration_s for c in runs)
        sampled = [c for c in runs if c.cpu_s is not None]
        groups.append(
            CommandGroup(
                category=category,
                tool=tool,
                repository=repository,
                runs=len(runs),
                failed=sum(c.outcome == "failure" for c in runs),
                interrupted=sum(c.outcome == "interrupted" for c in runs),
                total_s=sum(ordered),
                p50_s=nearest_rank(ordered, 0.5),
                p95_s=nearest_rank(ordered, 0.95),
                max_s=ordered[-1],
                sampled_runs=len(sampled),
                sampled_wall_s=_seconds(sampled),
                cpu_s=sum(c.cpu_s or 0.0 for c in sampled),
            )
        )
    return sorted(groups, key=lambda g: (-g.p95_s, g.label))


def _ai(period: list[StoredDay]) -> list[AiFigures]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for stored in period:
        for record in stored.ai:
            row = totals[record.tool]
            row[0] += record.shown
            row[1] += record.accepted
            row[2] += record.lines
    return [AiFigures(tool, *row) for tool, row in sorted(totals.items())]
