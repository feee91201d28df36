"""The agent's files on disk: private to the user, and a damaged one moved aside instead of
stopping the agent.

Every file the agent creates holds the developer's activity (or a key), so it is made 0600
(directories 0700) whatever the umask or the directory it lands in. A corrupt or truncated
store is renamed to ``<name>.corrupt-<UTC time>`` and the agent starts that store afresh, saying
so once on stderr: a day is always re-sent as a full snapshot, so starting clean loses no total.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from agent.errors import StateError

FILE_MODE, DIR_MODE = 0o600, 0o700
_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
T = TypeVar("T")


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700; a directory that exists is left as it is
    (it may be a shared one the user chose: what we put inside is private anyway)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another agent process made it first
            folder.mkdir(mode=DIR_MODE)
            folder.chmod(DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists as a 0600 file before anything (SQLite, open()) writes to it.

    SQLite gives its -wal and -shm files the mode of the database file, so this covers them.
    """
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def move_aside(path: Path, reason: str) -> Path:
    """Rename a damaged file (and SQLite's side files) out of the way; say so once, on stderr."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, target)
        for suffix in _SQLITE_SIDE_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.replace(path.with_name(path.name + suffix), target.with_name(target.name + suffix))
    except OSError as exc:
        raise StateError(f"{path} is damaged ({reason}) and cannot be moved aside: {exc.strerror}") from exc
    print(
        f"devtel-agent: {path} was damaged ({reason}); moved it to {target.name} and started it afresh",
        file=sys.stderr,
        flush=True,
    )
    return target


def is_corrupt(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT or SQLITE_NOTADB: the file is damaged (not merely locked or full)."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _CORRUPT_CODES


def open_sqlite(path: Path, setup: Callable[[], T]) -> T:
    """Run ``setup`` (which opens ``path`` and checks it); a damaged file is moved aside once.

    ``setup`` should run ``check_sqlite`` so a truncated file is noticed now, not mid-send.
    """
    private_dir(path.parent)
    private_file(path)
    try:
        return setup()
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            raise
        move_aside(path, str(exc))
    private_file(path)
    return setup()


def check_sqlite(db: sqlite3.Connection) -> None:
    """``PRAGMA quick_check``; a damaged file raises SQLITE_CORRUPT like a failed read would."""
    rows = db.execute("PRAGMA quick_check").fetchall()
    if rows != [("ok",)]:
        error = sqlite3.DatabaseError(f"quick_check: {rows[0][0] if rows else 'no answer'}")
        error.sqlite_errorcode = sqlite3.SQLITE_CORRUPT  # type: ignore[attr-defined]
        raise error
