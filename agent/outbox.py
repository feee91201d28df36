"""The durable outbox (``outbox.db`` in DEVTEL_HOME): every export is committed here before
any send, and deleted only after the sink acknowledged it with a 2xx.

Items are keyed (sink, signal, key): a newer snapshot of a day replaces the older unsent one,
so a month offline stays a month of days, not a month of retries. Rejected items are moved
aside with their reason and never block what comes after. A size bound drops the oldest items
and counts what it dropped. The on-disk format is versioned with ``PRAGMA user_version``.

A row that cannot be read (a level, signal or body this agent does not know) is moved aside as
``unreadable`` with its reason, so one bad row never stops a sender; a damaged file is moved
aside whole (agent/files.py). ``requeue`` puts rejected items back once the key is fixed.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.errors import StateError
from agent.files import check_sqlite, is_corrupt, move_aside, open_sqlite

DB_FILE = "outbox.db"
FORMAT_VERSION = 2  # 2: items.rejected_at
PENDING, REJECTED, UNREADABLE = "pending", "rejected", "unreadable"
_LEVEL_RANK = {"off": 0, "base": 1, "detailed": 2}
SIGNALS = ("metrics", "logs", "report")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL, signal TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    level TEXT NOT NULL, body BLOB NOT NULL, created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'pending', reason TEXT,
    rejected_at REAL
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
class Aside:
    """An item moved aside: rejected by the sink, or unreadable here."""

    status: str  # REJECTED | UNREADABLE
    kind: str
    key: str
    reason: str
    at: float | None


@dataclass(frozen=True)
class SinkStatus:
    sink: str
    pending: int
    pending_bytes: int
    oldest_pending_at: float | None
    rejected: list[Aside]
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
        self.generation = 0  # bumped when a file damaged mid-run is replaced: queued work is gone
        self._recovering = threading.Lock()
        try:
            open_sqlite(self.path, self._setup)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the outbox {self.path}: {exc}") from exc

    def _setup(self) -> None:
        """Check the file, create or upgrade the schema (format 1 gains ``rejected_at``)."""
        db = self._connect()
        try:
            check_sqlite(db)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, 1, FORMAT_VERSION):
                raise StateError(f"{self.path}: outbox format {version}; this agent reads {FORMAT_VERSION}")
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(items)")}
            if "rejected_at" not in columns:
                db.execute("ALTER TABLE items ADD COLUMN rejected_at REAL")
            db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA synchronous = FULL")
        return db

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; synchronous=FULL so a kill -9 or power cut loses nothing committed."""
        inode = _inode(self.path)
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
            if is_corrupt(exc):
                self._replace_damaged(inode, reason)
                reason += "; moved aside and started afresh"
            elif "full" in reason or "I/O" in reason:
                reason += " (is the disk full, or a file-size limit reached?)"
            raise StateError(f"cannot write the outbox {self.path}: {reason}") from exc

    def _replace_damaged(self, inode: int | None, reason: str) -> None:
        """Damaged while running (found at start, open_sqlite handles it): move it aside once,
        however many threads meet it, and start a fresh file."""
        with self._recovering:
            try:
                if self.path.stat().st_ino != inode:  # another thread replaced it already
                    return
            except FileNotFoundError:
                return
            move_aside(self.path, reason)
            open_sqlite(self.path, self._setup)
            self.generation += 1

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
        """The oldest readable pending item of ``sink`` past ``after_id`` (one pass walks the queue once).

        Rows that cannot be read are moved aside on the way, each with its reason.
        """
        with self._db() as db:
            while True:
                row = db.execute(
                    "SELECT id, sink, signal, kind, key, level, body, created_at, attempts FROM items "
                    "WHERE sink = ? AND status = ? AND id > ? ORDER BY id LIMIT 1",
                    (sink, PENDING, after_id),
                ).fetchone()
                if row is None:
                    return None
                problem = _unreadable(row)
                if problem is None:
                    return Item(*row)
                db.execute(
                    "UPDATE items SET status = ?, reason = ?, rejected_at = ? WHERE id = ?",
                    (UNREADABLE, problem, time.time(), row[0]),
                )
                after_id = row[0]

    def set_unreadable(self, item: Item, reason: str) -> None:
        """The sink could not even encode the stored body: move it aside, never retry it blindly."""
        with self._db() as db:
            db.execute(
                "UPDATE items SET status = ?, reason = ?, rejected_at = ? WHERE id = ?",
                (UNREADABLE, reason[:200], time.time(), item.id),
            )

    def requeue(self, sink: str | None = None) -> int:
        """Put rejected items back in the queue (after a key was fixed) and clear the backoff.

        Where a newer snapshot with the same key is already pending, the old rejected one is
        dropped instead: the newer one supersedes it anyway.
        """
        where, args = ("AND sink = ?", (sink,)) if sink else ("", ())
        with self._db() as db:
            db.execute(
                f"DELETE FROM items WHERE status = ? {where} AND EXISTS (SELECT 1 FROM items p WHERE "
                "p.status = ? AND p.sink = items.sink AND p.signal = items.signal AND p.key = items.key)",
                (REJECTED, *args, PENDING),
            )
            older = db.execute(
                f"SELECT id FROM items WHERE status = ? {where} ORDER BY id DESC", (REJECTED, *args)
            ).fetchall()
            kept: set[tuple[str, str, str]] = set()
            moved = 0
            for (item_id,) in older:  # several rejected snapshots of one key: the newest goes back
                ident = db.execute("SELECT sink, signal, key FROM items WHERE id = ?", (item_id,)).fetchone()
                if tuple(ident) in kept:
                    db.execute("DELETE FROM items WHERE id = ?", (item_id,))
                    continue
                kept.add(tuple(ident))
                db.execute(
                    "UPDATE items SET status = ?, reason = NULL, rejected_at = NULL WHERE id = ?",
                    (PENDING, item_id),
                )
                moved += 1
            db.execute(f"UPDATE sinks SET failures = 0, next_attempt_at = 0 WHERE 1 {where}", args)
        return moved

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
                "UPDATE items SET status = ?, reason = ?, attempts = attempts + 1, rejected_at = ? "
                "WHERE id = ?",
                (REJECTED, reason, now, item.id),
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
            aside = db.execute(
                "SELECT status, kind, key, reason, rejected_at FROM items "
                "WHERE sink = ? AND status IN (?, ?) ORDER BY id",
                (sink, REJECTED, UNREADABLE),
            ).fetchall()
            row = db.execute(
                "SELECT failures, next_attempt_at, last_success_at, last_failure_at, last_failure, "
                "sent, failed, dropped FROM sinks WHERE sink = ?",
                (sink,),
            ).fetchone()
        return SinkStatus(sink, pending, size, oldest, [Aside(*r) for r in aside], *row)

    def size_bytes(self) -> int:
        """The outbox's footprint on disk (database plus write-ahead log)."""
        return sum(p.stat().st_size for p in self.path.parent.glob(f"{DB_FILE}*"))


def _unreadable(row: tuple[object, ...]) -> str | None:
    """Why a stored row cannot be sent by this agent, or None when it can."""
    _, _, signal, kind, key, level, body, created_at, attempts = row
    if signal not in SIGNALS:
        return f"unreadable row: unknown signal {signal!r}"
    if level not in _LEVEL_RANK:
        return f"unreadable row: unknown consent level {level!r}"
    if not isinstance(body, bytes):
        return f"unreadable row: body is {type(body).__name__}, not stored bytes"
    if not isinstance(kind, str) or not isinstance(key, str):
        return "unreadable row: kind or key is not text"
    if not isinstance(created_at, int | float) or not isinstance(attempts, int):
        return "unreadable row: created_at or attempts is not a number"
    return None


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None
