"""The local day store (``days.db`` in DEVTEL_HOME): the latest DayReport per local date.

Collectors (or tests) save days here; ``collect``, ``preview`` and ``status`` read them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from agent.day import CommandRun, CommitDetail, DayReport, ProjectActivity, RepositoryActivity
from agent.errors import StateError
from agent.files import check_sqlite, open_sqlite

DB_FILE = "days.db"


def day_to_dict(day: DayReport) -> dict[str, Any]:
    return {
        "date": day.date.isoformat(),
        "active_clock_hours": sorted(day.active_clock_hours),
        "active_minutes": day.active_minutes,
        "repositories": [
            {
                "name": r.name,
                "path": r.path,
                "commits": r.commits,
                "lines_added": r.lines_added,
                "lines_deleted": r.lines_deleted,
                "files_changed": r.files_changed,
                "branches_worked": list(r.branches_worked),
                "commit_ids": list(r.commit_ids),
                "id": r.id,
                "commit_details": [dataclasses.asdict(c) for c in r.commit_details],
            }
            for r in day.repositories
        ],
        "command_counts": dict(day.command_counts),
        "tools_used": sorted(day.tools_used),
        "projects": [
            {"name": p.name, "path": p.path, "last_activity": p.last_activity.isoformat()}
            for p in day.projects
        ],
        "commands": [dataclasses.asdict(c) for c in day.commands],
        "author_email": day.author_email,
        "identity_warnings": list(day.identity_warnings),
    }


def day_digest(day: DayReport) -> str:
    """A fingerprint of the day's content, so an unchanged day is not queued again."""
    return hashlib.sha256(json.dumps(day_to_dict(day), sort_keys=True).encode()).hexdigest()


def day_from_dict(data: dict[str, Any]) -> DayReport:
    return DayReport(
        date=dt.date.fromisoformat(data["date"]),
        active_clock_hours=set(data.get("active_clock_hours", [])),
        active_minutes=data.get("active_minutes", 0),
        repositories=[_repository(r) for r in data.get("repositories", [])],
        command_counts=dict(data.get("command_counts", {})),
        tools_used=set(data.get("tools_used", [])),
        projects=[
            ProjectActivity(
                name=p["name"],
                path=p.get("path"),
                last_activity=dt.datetime.fromisoformat(p["last_activity"]),
            )
            for p in data.get("projects", [])
        ],
        commands=[CommandRun(**c) for c in data.get("commands", [])],
        author_email=data.get("author_email"),
        identity_warnings=list(data.get("identity_warnings", [])),
    )


def _repository(data: dict[str, Any]) -> RepositoryActivity:
    details = [CommitDetail(**c) for c in data.get("commit_details", [])]
    return RepositoryActivity(**{**data, "commit_details": details})


class DayStore:
    def __init__(self, home: Path) -> None:
        self.path = home / DB_FILE
        try:
            open_sqlite(self.path, self._setup)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the day store {self.path}: {exc}") from exc

    def _setup(self) -> None:
        """A damaged file raises SQLITE_CORRUPT here, so open_sqlite moves it aside: days are re-collected."""
        db = self._connect()
        try:
            check_sqlite(db)
            with db:
                db.execute("CREATE TABLE IF NOT EXISTS days (date TEXT PRIMARY KEY, report TEXT NOT NULL)")
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def save(self, day: DayReport) -> None:
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT OR REPLACE INTO days VALUES (?, ?)",
                    (day.date.isoformat(), json.dumps(day_to_dict(day), sort_keys=True)),
                )
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the day store {self.path}: {exc}") from exc

    def load(self, date: dt.date) -> DayReport | None:
        with self._connect() as db:
            row = db.execute("SELECT report FROM days WHERE date = ?", (date.isoformat(),)).fetchone()
        return day_from_dict(json.loads(row[0])) if row else None
