"""The sent log (``sent/<UTC date>.jsonl`` in DEVTEL_HOME): one line per payload a sink
acknowledged, so a developer can see exactly what left the machine, when, to which sink and
with which answer (``devtel-agent sent``, and the developer's report).

It holds only what was sent (never what was merely queued or rejected) and only a summary of
it: what kind of export, which day, how many bytes, never the body. Files older than
``RETENTION_DAYS`` are deleted when a new day's file is started. A line that cannot be parsed
(a crash mid-write) is skipped, not fatal.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.files import FILE_MODE, private_dir

SENT_DIR = "sent"
RETENTION_DAYS = 31


@dataclass(frozen=True)
class SentEntry:
    """One acknowledged payload."""

    sent_at: dt.datetime  # UTC, aware
    sink: str
    day: dt.date | None  # the local date the data describes, when it describes one
    what: str  # "day-metrics", "day-logs", "day-report", "heartbeat", "first_seen", ...
    answer: str  # "HTTP 200", "gRPC OK"
    summary: dict[str, Any] = field(default_factory=dict)  # signal, bytes, key, level

    def to_json(self) -> dict[str, Any]:
        return {
            "sent_at": self.sent_at.isoformat(timespec="seconds"),
            "sink": self.sink,
            "day": self.day.isoformat() if self.day else None,
            "what": self.what,
            "answer": self.answer,
            "summary": self.summary,
        }


# Exports that describe one local date, keyed "<kind>:<date>" (a day's totals, its AI use).
# A heartbeat's key carries a UTC date too, but base events describe the install, not a day.
_DAY_KINDS = frozenset({"day", "ai"})


def describe(kind: str, signal: str, key: str) -> tuple[str, dt.date | None]:
    """(what, day) for an outbox item: a day's export names its signal, and the day it describes."""
    what = f"{kind}-{signal}" if kind == "day" else kind
    day = None
    if kind in _DAY_KINDS:
        try:
            day = dt.date.fromisoformat(key.rsplit(":", 1)[-1])
        except ValueError:
            day = None
    return what, day


def record(home: Path, entry: SentEntry) -> None:
    """Append one entry; a new day's file triggers the retention sweep."""
    folder = private_dir(home / SENT_DIR)
    path = folder / f"{entry.sent_at.date().isoformat()}.jsonl"
    new = not path.exists()
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, FILE_MODE)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry.to_json(), sort_keys=True) + "\n")
    if new:
        prune(home, entry.sent_at.date())


def prune(home: Path, today: dt.date) -> int:
    """Delete the files older than the retention window; returns how many went."""
    oldest = today - dt.timedelta(days=RETENTION_DAYS)
    removed = 0
    for path in (home / SENT_DIR).glob("*.jsonl"):
        with contextlib.suppress(ValueError, OSError):
            if dt.date.fromisoformat(path.stem) < oldest:
                path.unlink()
                removed += 1
    return removed


def read_sent(home: Path, start: dt.date, end: dt.date) -> list[SentEntry]:
    """Every entry sent on the local dates ``start`` to ``end`` (inclusive), oldest first."""
    entries: list[SentEntry] = []
    day = start - dt.timedelta(days=1)  # files are per UTC date; a local date spans two
    while day <= end + dt.timedelta(days=1):
        entries += _read_file(home / SENT_DIR / f"{day.isoformat()}.jsonl")
        day += dt.timedelta(days=1)
    local = [e for e in entries if start <= e.sent_at.astimezone().date() <= end]
    return sorted(local, key=lambda e: e.sent_at)


def _read_file(path: Path) -> list[SentEntry]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            data = json.loads(line)
            entries.append(
                SentEntry(
                    sent_at=dt.datetime.fromisoformat(data["sent_at"]).astimezone(dt.UTC),
                    sink=str(data["sink"]),
                    day=dt.date.fromisoformat(data["day"]) if data.get("day") else None,
                    what=str(data["what"]),
                    answer=str(data["answer"]),
                    summary=dict(data.get("summary") or {}),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash
    return entries
