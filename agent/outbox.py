"""The durable outbox (``outbox.db`` in DEVTEL_HOME): every export is committed here before
any send, and deleted only after the sink acknowledged it with a 2xx.

Items are keyed (sink, signal, key): a newer snapshot of a day replaces the older unsent one,
so a month offline stays a month of days, not a month of retries. Rejected items are moved
aside with their reason and never block what comes after. A size bound drops the oldest items
and counts what it dropped. The on-disk format is versioned with ``PRAGMA user_version``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.errors import StateError

DB_FILE = "outbox.db"
FORMAT_VERSION = 1
PENDING, REJECTED = "pending", "rejected"
_LEVEL_RANK = {"off": 0, "base": 1, "detailed": 2}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL, signal TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    level TEXT NOT NULL, body BLOB NOT NULL, created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'pending', reason TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS items_pending_key ON items (sink, signal, key) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS sinks (
    sink TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0,
    last_success_at REAL, last_failure_at REAL, last_failure TEXT,
    sent INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class Item:
    id: int
    sink: str
    signal: str
    kind: str
    key: str
    level: str
    body: bytes
    created_at: float
    attempts: int


@dataclass(frozen=True)
class SinkStatus:
    sink: str
    pending: int
    pending_bytes: int
    oldest_pending_at: float | None
    rejected: list[tuple[str, str, str]]  # (kind, key, reason)
    failures: int
    next_attempt_at: float
    last_success_at: float | None
    last_failure_at: float | None
    last_failure: str | None
    sent: int
    failed: int
    dropped: int


class Outbox:
    def __init__(self, home: Path, max_bytes: int) -> None:
        self.path = home / DB_FILE
        self.max_bytes = max_bytes
        try:
            db = self._connect()
            try:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, FORMAT_VERSION):
                    raise StateError(
                        f"{self.path}: outbox format {version}; this agent reads {FORMAT_VERSION}"
                    )
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the outbox {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA synchronous = FULL")
        return db

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; synchronous=FULL so a kill -9 or power cut loses nothing committed."""
        try:
            db = self._connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                db.close()
        except sqlite3.Error as exc:
            reason = str(exc)
            if "full" in reason or "I/O" in reason:
                reason += " (is the disk full, or a file-size limit reached?)"
            raise StateError(f"cannot write the outbox {self.path}: {reason}") from exc

    def put(self, sink: str, signal: str, kind: str, key: str, level: str, body: bytes) -> None:
        """Store one payload durably, replacing an unsent one with the same key; enforce the bound."""
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO sinks (sink) VALUES (?)", (sink,))
            db.execute(
                "DELETE FROM items WHERE sink = ? AND signal = ? AND key = ? AND status = ?",
                (sink, signal, key, PENDING),
            )
            cur = db.execute(
                "INSERT INTO items (sink, signal, kind, key, level, body, created_at) VALUES (?,?,?,?,?,?,?)",
                (sink, signal, kind, key, level, body, time.time()),
            )
            self._enforce_bound(db, cur.lastrowid or 0)

    def _enforce_bound(self, db: sqlite3.Connection, keep_id: int) -> None:
        """Drop rejected items first, then the oldest pending ones, until the total fits."""
        total = db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM items").fetchone()[0]
        if total <= self.max_bytes:
            return
        victims = db.execute(
            "SELECT id, sink, LENGTH(body) FROM items WHERE id != ? ORDER BY status = 'pending', id",
            (keep_id,),
        ).fetchall()
        for item_id, sink, size in victims:
            if total <= self.max_bytes:
                break
            db.execute("DELETE FROM items WHERE id = ?", (item_id,))
            db.execute("UPDATE sinks SET dropped = dropped + 1 WHERE sink = ?", (sink,))
            total -= size

    def next_item(self, sink: str, after_id: int) -> Item | None:
        """The oldest pending item of ``sink`` past ``after_id`` (one pass walks the queue once)."""
        with self._db() as db:
            row = db.execute(
                "SELECT id, sink, signal, kind, key, level, body, created_at, attempts FROM items "
                "WHERE sink = ? AND status = ? AND id > ? ORDER BY id LIMIT 1",
                (sink, PENDING, after_id),
            ).fetchone()
        return Item(*row) if row else None

    def acknowledge(self, item: Item) -> None:
        """The sink took it: delete it (only now) and reset the sink's backoff."""
        with self._db() as db:
            db.execute("DELETE FROM items WHERE id = ?", (item.id,))
            db.execute(
                "UPDATE sinks SET failures = 0, next_attempt_at = 0, last_success_at = ?, sent = sent + 1 "
                "WHERE sink = ?",
                (time.time(), item.sink),
            )

    def defer(self, item: Item, reason: str, delay: float) -> None:
        """A retryable failure: keep the item, hold the whole sink back for ``delay`` seconds."""
        now = time.time()
        with self._db() as db:
            db.execute("UPDATE items SET attempts = attempts + 1 WHERE id = ?", (item.id,))
            db.execute(
                "UPDATE sinks SET failures = failures + 1, next_attempt_at = ?, last_failure_at = ?, "
                "last_failure = ?, failed = failed + 1 WHERE sink = ?",
                (now + delay, now, reason, item.sink),
            )

    def reject(self, item: Item, reason: str) -> None:
        """A non-retryable answer: move the item aside with the reason; the queue goes on."""
        now = time.time()
        with self._db() as db:
            db.execute(
                "UPDATE items SET status = ?, reason = ?, attempts = attempts + 1 WHERE id = ?",
                (REJECTED, reason, item.id),
            )
            db.execute(
                "UPDATE sinks SET last_failure_at = ?, last_failure = ?, rejected = rejected + 1, "
                "failed = failed + 1 WHERE sink = ?",
                (now, reason, item.sink),
            )

    def failures(self, sink: str) -> tuple[int, float]:
        """(consecutive retryable failures, when the sink may be tried again)."""
        with self._db() as db:
            row = db.execute("SELECT failures, next_attempt_at FROM sinks WHERE sink = ?", (sink,)).fetchone()
        return (row[0], row[1]) if row else (0, 0.0)

    def purge_above(self, level: str) -> int:
        """Delete every unsent item whose consent level is above ``level`` (opting out)."""
        allowed = [name for name, rank in _LEVEL_RANK.items() if rank <= _LEVEL_RANK[level]]
        marks = ",".join("?" * len(allowed))
        with self._db() as db:
            return db.execute(f"DELETE FROM items WHERE level NOT IN ({marks})", allowed).rowcount

    def status(self, sink: str) -> SinkStatus:
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO sinks (sink) VALUES (?)", (sink,))
            pending, size, oldest = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0), MIN(created_at) FROM items "
                "WHERE sink = ? AND status = ?",
                (sink, PENDING),
            ).fetchone()
            rejected = db.execute(
                "SELECT kind, key, reason FROM items WHERE sink = ? AND status = ? ORDER BY id",
                (sink, REJECTED),
            ).fetchall()
            row = db.execute(
                "SELECT failures, next_attempt_at, last_success_at, last_failure_at, last_failure, "
                "sent, failed, dropped FROM sinks WHERE sink = ?",
                (sink,),
            ).fetchone()
        return SinkStatus(sink, pending, size, oldest, [tuple(r) for r in rejected], *row)

    def size_bytes(self) -> int:
        """The outbox's footprint on disk (database plus write-ahead log)."""
        return sum(p.stat().st_size for p in self.path.parent.glob(f"{DB_FILE}*"))
