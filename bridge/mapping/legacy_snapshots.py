"""A legacy DevLake report as its install's day snapshot, so the row merges like OTLP's.

DevLake's own upsert is last-write-wins per (connection, developer, date): two laptops of one
developer overwrite each other. devtel instead stores each report as the day of one install,
keyed by the report's hostname, and rebuilds the DevLake row from all of the developer's
installs (bridge/mapping/snapshots.py), whatever route they used.

Every field of one report carries the same observation time: midnight UTC after the reported
day. It is fixed per day, so a replay writes nothing, and a later report from the same host
for the same day replaces what that host said before (equal times replace): last write wins
per install, as DevLake does per row.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from agent.contract import command_category
from bridge.mapping.day import DeveloperDay
from bridge.mapping.snapshots import (
    ACTIVE,
    COMMANDS,
    FROM_LEGACY,
    GIT_TOTALS,
    IDENTITY,
    PROJECTS,
    REPOSITORIES,
    TOOLS,
    FieldSnapshot,
)

_REPO_FIGURES = ("commits", "lines_added", "lines_deleted", "files_changed")
_TOTALS = ("total_commits", "total_lines_added", "total_lines_deleted", "total_files_changed")


def observed_at(date: dt.date) -> int:
    """Unix ns of midnight UTC after ``date``: a legacy report describes a finished day."""
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), dt.UTC)
    return int(end.timestamp()) * 1_000_000_000


def _repositories(git: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """name -> figures; a name listed twice is summed (the collector merges by directory name)."""
    merged: dict[str, dict[str, Any]] = {}
    for repo in git.get("repositories") or []:
        entry = merged.setdefault(repo["name"], {key: 0 for key in _REPO_FIGURES} | {"branches_worked": []})
        for key in _REPO_FIGURES:
            entry[key] += int(repo.get(key) or 0)
        if repo.get("path") and "path" not in entry:
            entry["path"] = repo["path"]
        entry["branches_worked"] = sorted({*entry["branches_worked"], *(repo.get("branches_worked") or [])})
    return merged


def _commands(activity: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for key, count in activity.items():
        category = command_category(key)
        if category is not None and count is not None:
            counts[category] += int(count)
    return dict(counts)


def legacy_snapshots(day: DeveloperDay) -> list[FieldSnapshot]:
    """The report's fields as snapshots of the install named by its hostname ("" when none)."""
    install_id = day.hostname or ""
    when = observed_at(day.date)

    def snap(field: str, value: Any) -> FieldSnapshot:
        return FieldSnapshot(
            day.connection_id, day.developer_id, day.date, install_id, field, FROM_LEGACY, when, value
        )

    identity = {"email": day.email, "name": day.name, "hostname": day.hostname, "os_info": day.os_info}
    out = [snap(IDENTITY, identity), snap(ACTIVE, {"active_hours": day.active_hours})]
    if day.git_activity is not None:
        out.append(snap(REPOSITORIES, _repositories(day.git_activity)))
        out.append(snap(GIT_TOTALS, {key: int(day.git_activity.get(key) or 0) for key in _TOTALS}))
    if day.development_activity is not None:
        out.append(snap(COMMANDS, _commands(day.development_activity)))
    if day.tools_used is not None:
        out.append(snap(TOOLS, sorted(set(day.tools_used))))
    if day.project_context is not None:
        out.append(snap(PROJECTS, day.project_context))
    return out
