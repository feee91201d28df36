"""Per-install snapshots of a developer's day, and how they merge into one DevLake row.

Each install (``service.instance.id``) sends full-day values. They are kept per install, per
field and per source (metrics or the day-summary event), each with the time it was observed,
so a replay changes nothing, a newer snapshot replaces an older one, a late older one never
wins, and a request carrying only some fields leaves the others alone. The row is then
rebuilt from every install's newest values: active hours as the union of active clock hours,
commits deduplicated by commit id, tools and projects as unions, commands summed.

Where an install knows only totals (active hours without clock hours, repository figures
without commit ids, git totals without repositories: the legacy DevLake report), the overlap
between installs is unknown, so the merged figure is the largest any install reported (a floor
that never double counts): the same inputs always give the same row, whatever their order.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agent.contract import REPO_COMMIT_IDS, REPO_COMMITS_DETAIL, REPO_ID, devlake_command_key
from bridge.mapping.day import DeveloperDay

IDENTITY = "identity"
ACTIVE = "active"
REPOSITORIES = "repositories"
COMMANDS = "commands"
TOOLS = "tools"
PROJECTS = "projects"
GIT_TOTALS = "git_totals"  # git_activity's total_* as a legacy report states them
COMMAND_STATS = "command_stats"  # kept in its own table, not in the DevLake row

FROM_METRICS = "metrics"
FROM_SUMMARY = "summary"
FROM_LEGACY = "legacy"  # DevLake's JSON report, as its host's install (bridge/mapping/legacy_snapshots.py)
_SOURCE_PREFERENCE = {FROM_SUMMARY: 1, FROM_METRICS: 0}  # on equal times, the richer source

DayKey = tuple[int, str, dt.date]


@dataclass(frozen=True, slots=True)
class FieldSnapshot:
    """One field of one install's day as one source saw it at ``observed_at`` (Unix ns)."""

    connection_id: int
    developer_id: str
    date: dt.date
    install_id: str
    field: str
    source: str
    observed_at: int
    value: Any

    @property
    def day_key(self) -> DayKey:
        return (self.connection_id, self.developer_id, self.date)

    @property
    def stored_field(self) -> str:
        return f"{self.field}@{self.source}"


def _newest_per_install(rows: Iterable[FieldSnapshot]) -> dict[str, dict[str, FieldSnapshot]]:
    """install -> field -> the snapshot to use, the newest of its sources."""
    chosen: dict[str, dict[str, FieldSnapshot]] = defaultdict(dict)
    for row in rows:
        current = chosen[row.install_id].get(row.field)
        rank = (row.observed_at, _SOURCE_PREFERENCE.get(row.source, 0))
        if current is None or rank > (current.observed_at, _SOURCE_PREFERENCE.get(current.source, 0)):
            chosen[row.install_id][row.field] = row
    return chosen


def install_values(rows: Iterable[FieldSnapshot], field: str) -> list[Any]:
    """Each install's newest value of ``field``, for the installs that sent it."""
    return [fields[field].value for fields in _newest_per_install(rows).values() if field in fields]


def _without_legacy_twins(
    per_install: dict[str, dict[str, FieldSnapshot]],
) -> dict[str, dict[str, FieldSnapshot]]:
    """A host that reports the day over OTLP and also through DevLake's legacy route (the agent's
    DevLake sink beside its OTLP sink) is one machine, not two: its OTLP install, which knows
    clock hours and commit ids, stands for it, and its legacy report is not counted again."""
    otlp_hosts = {
        fields[IDENTITY].value.get("hostname")
        for fields in per_install.values()
        if IDENTITY in fields and fields[IDENTITY].source != FROM_LEGACY
    }
    return {
        install: fields
        for install, fields in per_install.items()
        if not (install in otlp_hosts and all(s.source == FROM_LEGACY for s in fields.values()))
    }


def merge_day(key: DayKey, rows: Iterable[FieldSnapshot]) -> DeveloperDay:
    per_install = _without_legacy_twins(_newest_per_install(rows))

    def values(field: str) -> list[FieldSnapshot]:
        return [fields[field] for fields in per_install.values() if field in fields]

    # Ties (legacy reports of one day share a time) go to the install id: never a flip-flop.
    identity = max(values(IDENTITY), key=lambda s: (s.observed_at, s.install_id), default=None)
    ident = identity.value if identity else {}
    repositories = [s.value for s in values(REPOSITORIES)]
    commands = [s.value for s in values(COMMANDS)]
    tools = [s.value for s in values(TOOLS)]
    projects = [s.value for s in values(PROJECTS)]
    totals = [s.value for s in values(GIT_TOTALS)]
    connection_id, developer_id, date = key
    return DeveloperDay(
        connection_id=connection_id,
        developer_id=developer_id,
        date=date,
        email=ident.get("email"),
        name=ident.get("name"),
        hostname=ident.get("hostname"),
        os_info=ident.get("os_info"),
        active_hours=merge_active_hours([s.value for s in values(ACTIVE)]),
        git_activity=merge_git_activity(repositories, totals) if repositories or totals else None,
        development_activity=merge_commands(commands) if commands else None,
        tools_used=sorted({tool for entry in tools for tool in entry}) if tools else None,
        project_context=merge_projects(projects) if projects else None,
    )


def merge_active_hours(installs: list[dict[str, Any]]) -> int:
    """The union of active clock hours; an install that sent only a count cannot be unioned, so
    the result is at least that count."""
    hours: set[int] = set()
    floor = 0
    for active in installs:
        if active.get("active_clock_hours") is not None:
            hours.update(active["active_clock_hours"])
        else:
            floor = max(floor, int(active.get("active_hours", 0)))
    return max(len(hours), floor)


def _merge_one_repository(entries: list[dict[str, Any]]) -> dict[str, Any]:
    # Installs laid out differently may name one repository differently: the shortest name.
    merged: dict[str, Any] = {"name": min((e["name"] for e in entries), key=lambda n: (len(n), n))}
    path = next((e["path"] for e in entries if e.get("path")), None)
    if path is not None:
        merged["path"] = path
    if all(e.get(REPO_COMMITS_DETAIL) is not None for e in entries):
        unique = {c["id"]: c for e in entries for c in e[REPO_COMMITS_DETAIL]}
        merged["commits"] = len(unique)
        for key in ("lines_added", "lines_deleted", "files_changed"):
            merged[key] = sum(int(c.get(key, 0)) for c in unique.values())
    else:
        # Without per-commit figures two installs' overlap is unknown: the larger install's
        # figures are a floor that never double counts.
        if all(e.get(REPO_COMMIT_IDS) is not None for e in entries):
            merged["commits"] = len({cid for e in entries for cid in e[REPO_COMMIT_IDS]})
        else:
            merged["commits"] = max(int(e.get("commits", 0)) for e in entries)
        for key in ("lines_added", "lines_deleted", "files_changed"):
            merged[key] = max(int(e.get(key, 0)) for e in entries)
    merged["branches_worked"] = sorted({b for e in entries for b in e.get("branches_worked", [])})
    return merged


def merge_repositories(installs: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """installs: each a mapping repository name -> that install's figures.

    Entries carrying a repository id (the same on every machine) merge by it, so ``proj`` on one
    laptop and ``src/proj`` on another are one repository; entries without one merge by name.
    """
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for repos in installs:
        for name, entry in repos.items():
            key = f"id:{entry[REPO_ID]}" if entry.get(REPO_ID) else f"name:{name}"
            by_key[key].append({"name": name, **entry})
    merged = [_merge_one_repository(by_key[key]) for key in sorted(by_key)]  # ties: in key order
    repositories = sorted(merged, key=lambda r: r["name"])
    return {
        "total_commits": sum(r["commits"] for r in repositories),
        "total_lines_added": sum(r["lines_added"] for r in repositories),
        "total_lines_deleted": sum(r["lines_deleted"] for r in repositories),
        "total_files_changed": sum(r["files_changed"] for r in repositories),
        "repositories": repositories,
    }


def merge_git_activity(
    repositories: list[dict[str, dict[str, Any]]], totals: list[dict[str, int]]
) -> dict[str, Any]:
    """The repositories merged; each total at least the largest total an install stated."""
    merged = merge_repositories(repositories)
    for stated in totals:
        for key, value in stated.items():
            merged[key] = max(merged.get(key, 0), int(value))
    return merged


def merge_commands(installs: list[dict[str, int]]) -> dict[str, int]:
    """Commands run on different machines are different commands: counts add up."""
    totals: dict[str, int] = defaultdict(int)
    for counts in installs:
        for category, count in counts.items():
            totals[category] += int(count)
    activity = {devlake_command_key("test"): 0, devlake_command_key("build"): 0}
    for category in sorted(totals):
        activity[devlake_command_key(category)] = totals[category]
    return activity


def merge_projects(installs: list[list[Any]]) -> list[Any]:
    """The union by name, sorted. A project is an object or, as the collector sends it, a bare
    name (kept bare, as DevLake stores it) unless some install described it as an object."""
    by_name: dict[str, dict[str, Any]] = {}
    bare: set[str] = set()
    for projects in installs:
        for project in projects:
            if isinstance(project, str):
                bare.add(project)
                continue
            current = by_name.get(project["name"])
            if current is None or str(project.get("last_activity", "")) > str(
                current.get("last_activity", "")
            ):
                merged = dict(project)
                if current is not None and "path" not in merged and "path" in current:
                    merged["path"] = current["path"]
                by_name[project["name"]] = merged
    named: dict[str, Any] = {name: name for name in bare} | by_name
    return [named[name] for name in sorted(named)]
