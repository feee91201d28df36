"""The classified commands (``shell.db`` in DEVTEL_HOME) and the spool offsets, side by side.

Rows hold what a command was (category, tool, outcome, duration, exit code, repository
working tree, its shell's pid), never its line or its directory; beside them, the process-tree
samples of ``agent.shell.sampler``. Saving rows and moving the offset is one
transaction: the spool reader's exactly-once rests on it.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from agent.errors import StateError
from agent.shell.sampler import TreeSample
from agent.shell.spool import Identity

DB_FILE: Final = "shell.db"
RETENTION_S: Final = 40 * 24 * 3600  # longer than any backfill the agent sends


@dataclass(frozen=True, slots=True)
class StoredCommand:
    ended_at: float
    duration_s: float
    exit_code: int
    outcome: str
    category: str
    tool: str
    repository: str | None  # the working tree's path, kept on this machine only
    shell_pid: int
    cpu_s: float | None = None  # from the process-tree samples; None when none was taken


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS commands (ended_at REAL NOT NULL, duration_s REAL NOT NULL,"
    " exit_code INTEGER NOT NULL, outcome TEXT NOT NULL, category TEXT NOT NULL, tool TEXT NOT NULL,"
    " repository TEXT, shell_pid INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS commands_by_time ON commands (ended_at)",
    "CREATE TABLE IF NOT EXISTS samples (shell_pid INTEGER NOT NULL, started_at REAL NOT NULL,"
    " last_seen REAL NOT NULL, cpu_s REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS spool_offsets (device INTEGER, inode INTEGER, offset INTEGER NOT NULL,"
    " PRIMARY KEY (device, inode))",
)


class CommandStore:
    def __init__(self, home: Path) -> None:
        self.path = home / DB_FILE
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            for statement in _SCHEMA:
                self._db.execute(statement)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the command store {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def offset(self, identity: Identity) -> int:
        row = self._db.execute(
            "SELECT offset FROM spool_offsets WHERE device = ? AND inode = ?", identity
        ).fetchone()
        return row[0] if row else 0

    def save(self, commands: list[StoredCommand], identity: Identity, offset: int) -> None:
        """The commands and the spool offset after them, together or not at all."""
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO commands VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            c.ended_at,
                            c.duration_s,
                            c.exit_code,
                            c.outcome,
                            c.category,
                            c.tool,
                            c.repository,
                            c.shell_pid,
                        )
                        for c in commands
                    ],
                )
                self._db.execute("INSERT OR REPLACE INTO spool_offsets VALUES (?, ?, ?)", (*identity, offset))
                cutoff = time.time() - RETENTION_S
                self._db.execute("DELETE FROM commands WHERE ended_at < ?", (cutoff,))
                self._db.execute("DELETE FROM samples WHERE last_seen < ?", (cutoff,))
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the command store {self.path}: {exc}") from exc

    def keep_offsets(self, identities: list[Identity]) -> None:
        """Forget the offsets of spool files that are gone."""
        with self._db:
            rows = self._db.execute("SELECT device, inode FROM spool_offsets").fetchall()
            gone = [row for row in rows if tuple(row) not in identities]
            self._db.executemany("DELETE FROM spool_offsets WHERE device = ? AND inode = ?", gone)

    def save_samples(self, samples: list[TreeSample]) -> None:
        try:
            with self._db:
                self._db.executemany(
                    "INSERT INTO samples VALUES (?, ?, ?, ?)",
                    [(s.shell_pid, s.started_at, s.last_seen, s.cpu_s) for s in samples],
                )
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the command store {self.path}: {exc}") from exc

    def cpu_of(self, command: StoredCommand) -> float | None:
        """CPU seconds of the process trees its shell ran during the command; None if unsampled.

        A tree belongs to the command that was running when the tree was last seen alive: both
        times come from the wall clock, unlike a process's start time (only as exact as the
        boot time, to the second).
        """
        row = self._db.execute(
            "SELECT COUNT(*), SUM(cpu_s) FROM samples WHERE shell_pid = ? AND last_seen BETWEEN ? AND ?",
            (command.shell_pid, command.ended_at - command.duration_s, command.ended_at),
        ).fetchone()
        return float(row[1]) if row[0] else None

    def between(self, start: float, end: float) -> list[StoredCommand]:
        """The commands that ended in [start, end), oldest first."""
        rows = self._db.execute(
            "SELECT * FROM commands WHERE ended_at >= ? AND ended_at < ? ORDER BY ended_at", (start, end)
        ).fetchall()
        commands = [StoredCommand(*row) for row in rows]
        return [dataclasses.replace(c, cpu_s=self.cpu_of(c)) for c in commands]
