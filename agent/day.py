"""The agent's view of one local day: what the collectors produce and the emitter sends.

Collectors fill it; ``agent.emit`` turns it into OTLP (gauges of full-day totals and one
``devtel.day.summary`` event). ``to_devlake()`` gives the seed's JSON shapes, which is also
what ``devtel-agent preview`` and the legacy DevLake sink show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from agent.contract import devlake_command_key


@dataclass(frozen=True, slots=True)
class CommitDetail:
    """One commit's figures, so a receiver merging two machines' days counts it once."""

    id: str  # a keyed hash of the commit id
    lines_added: int
    lines_deleted: int
    files_changed: int


@dataclass(slots=True)
class RepositoryActivity:
    """One repository's git activity on the day. ``path`` is None unless the policy allows paths."""

    name: str
    path: str | None = None
    commits: int = 0
    lines_added: int = 0
    lines_deleted: int = 0
    files_changed: int = 0
    branches_worked: list[str] = field(default_factory=list)
    # Keyed hashes of the commit ids, so two installs of one developer can deduplicate.
    commit_ids: list[str] = field(default_factory=list)
    # A keyed hash of the repository's identity (normalized origin, else root commit): equal on
    # every machine whatever the directory layout, so the receiver merges by it, not by name.
    id: str | None = None
    commit_details: list[CommitDetail] = field(default_factory=list)

    def to_devlake(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name}
        if self.path is not None:
            entry["path"] = self.path
        entry.update(
            commits=self.commits,
            lines_added=self.lines_added,
            lines_deleted=self.lines_deleted,
            files_changed=self.files_changed,
            branches_worked=sorted(self.branches_worked),
        )
        return entry


@dataclass(slots=True)
class ProjectActivity:
    name: str
    last_activity: dt.datetime  # timezone-aware
    path: str | None = None

    def to_devlake(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name}
        if self.path is not None:
            entry["path"] = self.path
        stamp = self.last_activity.astimezone(dt.UTC).replace(microsecond=0)
        entry["last_activity"] = stamp.isoformat().replace("+00:00", "Z")
        return entry


@dataclass(frozen=True, slots=True)
class CommandRun:
    """One shell command as it may leave: what kind, how it ended, how long; never its line."""

    ended_at: float  # epoch seconds
    duration_s: float
    exit_code: int
    outcome: str  # "success" | "failure" | "interrupted"
    category: str
    tool: str
    repository: str = ""  # the repository's name; "" outside one
    cpu_s: float | None = None  # CPU time of its process trees, when sampled (runs past 5 s)


@dataclass(slots=True)
class DayReport:
    """Full-day totals for one local calendar date on this install."""

    date: dt.date
    # Epoch seconds (UTC) of the start of each active local clock hour: unambiguous across
    # daylight-saving changes and half-hour zones, and merged across installs by set union.
    active_clock_hours: set[int] = field(default_factory=set)
    active_minutes: int = 0
    repositories: list[RepositoryActivity] = field(default_factory=list)
    command_counts: dict[str, int] = field(default_factory=dict)  # category -> count
    tools_used: set[str] = field(default_factory=set)
    projects: list[ProjectActivity] = field(default_factory=list)
    commands: list[CommandRun] = field(default_factory=list)  # from the shell hook, oldest first
    # Local only, never sent: the address most of the day's counted commits were written with
    # (what named mode reports as the email), and repositories whose commits of the day match
    # none of the developer's addresses (what `status` warns about).
    author_email: str | None = None
    identity_warnings: list[str] = field(default_factory=list)

    @property
    def active_hours(self) -> int:
        return len(self.active_clock_hours)

    def to_devlake(self) -> dict[str, Any]:
        """The four JSON columns plus active_hours, in the seed's shapes."""
        repos = sorted(self.repositories, key=lambda r: r.name)
        development = {devlake_command_key("test"): 0, devlake_command_key("build"): 0}
        for category, count in sorted(self.command_counts.items()):
            development[devlake_command_key(category)] = count
        return {
            "active_hours": self.active_hours,
            "git_activity": {
                "total_commits": sum(r.commits for r in repos),
                "total_lines_added": sum(r.lines_added for r in repos),
                "total_lines_deleted": sum(r.lines_deleted for r in repos),
                "total_files_changed": sum(r.files_changed for r in repos),
                "repositories": [r.to_devlake() for r in repos],
            },
            "development_activity": development,
            "tools_used": sorted(self.tools_used),
            "project_context": [p.to_devlake() for p in sorted(self.projects, key=lambda p: p.name)],
        }
