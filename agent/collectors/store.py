"""The collectors' own small SQLite file of observations that only exist at the moment of a run.

File mtimes are overwritten by the next save and a process is gone once it exits, so each
hourly run records what it saw (to the minute) and every later run of the same day reads it
back. Recording the same minute twice is harmless (primary keys), so two runs in one hour
count once. Each write is one transaction. Also kept: each repository's day result with the
branch-state it was computed from, so an unchanged repository costs one ``for-each-ref``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

from agent.collectors.errors import StateFileError
from agent.collectors.git import Commit, RepositoryDay

SCHEMA_VERSION = 1
# Observations older than this are of no use to any day a backfill or a replay may rebuild.
RETENTION_SECONDS = 60 * 86_400
_SCAN_OVERLAP = 60

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS file_signal (
    repository TEXT NOT NULL, minute INTEGER NOT NULL, PRIMARY KEY (repository, minute)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tool_sighting (
    tool TEXT NOT NULL, minute INTEGER NOT NULL, PRIMARY KEY (tool, minute)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_scan (
    repository TEXT PRIMARY KEY, covered_from REAL NOT NULL, covered_to REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repository_config (
    repository TEXT PRIMARY KEY, signature TEXT NOT NULL, config TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS git_day (
    repository TEXT NOT NULL, day_start INTEGER NOT NULL, key TEXT NOT NULL, result TEXT NOT NULL,
    PRIMARY KEY (repository, day_start)
) WITHOUT ROWID;
"""


class FileScan(NamedTuple):
    """The mtime interval whose changes of one repository are all recorded."""

    repository: str
    covered_from: float
    covered_to: float


def _minute(timestamp: float) -> int:
    return int(timestamp) // 60 * 60


class ActivityStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)  # idempotent; executescript manages its own transaction
        with self._transaction():
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StateFileError(f"{path}: schema {row[0]} is newer than {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def scan_window(self, repository: str, since: float, now: float) -> tuple[float, FileScan]:
        """Where this run's file scan of ``repository`` starts, and the coverage to record after it.

        Files modified before the end of an earlier scan that reached back to ``since`` are
        already recorded: only newer mtimes need a look (and a ``git check-ignore``).
        """
        row = self._db.execute(
            "SELECT covered_from, covered_to FROM file_scan WHERE repository=?", (repository,)
        ).fetchone()
        if row is not None and row[0] <= since <= row[1]:
            # A minute of overlap: a file saved while the last scan was walking is not lost.
            return row[1] - _SCAN_OVERLAP, FileScan(repository, row[0], max(row[1], now))
        return since, FileScan(repository, since, now)

    def record(
        self,
        *,
        files: Iterable[tuple[str, float]],
        scans: Iterable[FileScan],
        tools: Iterable[str],
        at: float,
    ) -> None:
        """One run's observations, in one transaction; also forgets what is past retention."""
        with self._transaction():
            self._db.executemany("INSERT OR REPLACE INTO file_scan VALUES (?, ?, ?)", scans)
            self._db.executemany(
                "INSERT OR IGNORE INTO file_signal VALUES (?, ?)", ((r, _minute(t)) for r, t in files)
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO tool_sighting VALUES (?, ?)", ((t, _minute(at)) for t in tools)
            )
            horizon = at - RETENTION_SECONDS
            for table, column in (
                ("file_signal", "minute"),
                ("tool_sighting", "minute"),
                ("git_day", "day_start"),
                ("file_scan", "covered_to"),
            ):
                self._db.execute(f"DELETE FROM {table} WHERE {column} < ?", (horizon,))

    def file_signals(self, start: int, end: int) -> list[tuple[str, int]]:
        with closing(
            self._db.execute(
                "SELECT repository, minute FROM file_signal WHERE minute >= ? AND minute < ?", (start, end)
            )
        ) as cursor:
            return cursor.fetchall()

    def tool_sightings(self, start: int, end: int) -> list[tuple[str, int]]:
        with closing(
            self._db.execute(
                "SELECT tool, minute FROM tool_sighting WHERE minute >= ? AND minute < ?", (start, end)
            )
        ) as cursor:
            return cursor.fetchall()

    def repository_config(self, repository: str) -> tuple[str, dict[str, Any]] | None:
        """(signature, what git resolved there) as last stored (gitconfig.py)."""
        row = self._db.execute(
            "SELECT signature, config FROM repository_config WHERE repository=?", (repository,)
        ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def save_repository_config(self, repository: str, signature: str, config: str) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO repository_config VALUES (?, ?, ?)", (repository, signature, config)
            )

    def git_day(self, repository: str, day_start: int, key: str) -> RepositoryDay | None:
        row = self._db.execute(
            "SELECT result FROM git_day WHERE repository=? AND day_start=? AND key=?",
            (repository, day_start, key),
        ).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return RepositoryDay(
            commits=tuple(Commit(**c) for c in data["commits"]),
            branches=tuple(data["branches"]),
            unmatched=tuple(data.get("unmatched", ())),
        )

    def save_git_day(self, repository: str, day_start: int, key: str, day: RepositoryDay) -> None:
        result = json.dumps(
            {
                "commits": [asdict(c) for c in day.commits],
                "branches": list(day.branches),
                "unmatched": list(day.unmatched),
            }
        )
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO git_day VALUES (?, ?, ?, ?)", (repository, day_start, key, result)
            )
