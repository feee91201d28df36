"""AI assistant use recorded by hand or by an editor plugin (`devtel-agent ai record`).

Each record adds to the day's local totals (``ai.db`` in DEVTEL_HOME) per tool, language and
feature; the whole day is then queued as ``devtel.ai.*`` gauges under one outbox key, so a newer
total replaces an unsent older one and a replay can never double count. AI use is detailed
data: below detailed consent nothing is recorded, stored or queued.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.sdk.resources import Resource

from agent import contract as C
from agent import emit
from agent.consent import DETAILED
from agent.errors import AgentError, StateError
from agent.pipeline import Agent
from agent.resource import detailed_resource

DB_FILE = "ai.db"
LOCK_FILE = ".ai.lock"
KIND_AI = "ai"
MAX_COUNT = 1_000_000  # per record: more is a typo or a runaway script
_LABEL = re.compile(r"^[a-z0-9][a-z0-9+#._-]{0,63}$")


class AiInputError(AgentError):
    """A record that cannot be stored; the message names the option and the value."""

    exit_code = 2


@dataclass(frozen=True)
class AiRecord:
    date: dt.date
    tool: str
    language: str
    feature: str
    shown: int
    accepted: int
    lines: int


def label(value: str, option: str) -> str:
    """Tools and languages are short lower-case names (copilot, python, c++, c#), nothing free-form."""
    text = value.strip().lower()
    if not _LABEL.match(text):
        raise AiInputError(
            f"{option}: {value[:80]!r} is not a name (letters, digits and + # . _ -, at most 64, "
            "starting with a letter or digit)"
        )
    return text


def validated(record: AiRecord) -> AiRecord:
    if record.feature not in C.AI_FEATURES:
        raise AiInputError(f"--feature: {record.feature!r} is not one of {', '.join(C.AI_FEATURES)}")
    for option, value in (
        ("--shown", record.shown),
        ("--accepted", record.accepted),
        ("--lines", record.lines),
    ):
        if not 0 <= value <= MAX_COUNT:
            raise AiInputError(f"{option}: {value} must be from 0 to {MAX_COUNT}")
    if record.accepted > record.shown:
        raise AiInputError(f"--accepted ({record.accepted}) cannot exceed --shown ({record.shown})")
    return AiRecord(
        record.date,
        label(record.tool, "--tool"),
        label(record.language, "--language"),
        record.feature,
        record.shown,
        record.accepted,
        record.lines,
    )


class AiTally:
    """The day's totals on disk; one transaction per record, so two records at once both count."""

    def __init__(self, home: Path) -> None:
        self.path = home / DB_FILE
        try:
            with self._connect() as db:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS ai_days (date TEXT, tool TEXT, language TEXT, feature TEXT, "
                    "shown INTEGER NOT NULL, accepted INTEGER NOT NULL, lines INTEGER NOT NULL, "
                    "PRIMARY KEY (date, tool, language, feature))"
                )
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the AI tally {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def add(self, record: AiRecord) -> None:
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO ai_days VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                    "shown = shown + excluded.shown, accepted = accepted + excluded.accepted, "
                    "lines = lines + excluded.lines",
                    (
                        record.date.isoformat(),
                        record.tool,
                        record.language,
                        record.feature,
                        record.shown,
                        record.accepted,
                        record.lines,
                    ),
                )
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the AI tally {self.path}: {exc}") from exc

    def day(self, date: dt.date) -> list[AiRecord]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT tool, language, feature, shown, accepted, lines FROM ai_days WHERE date = ? "
                "ORDER BY tool, language, feature",
                (date.isoformat(),),
            ).fetchall()
        return [AiRecord(date, *row) for row in rows]


def day_export(date: dt.date, totals: list[AiRecord], resource: Resource) -> emit.Export:
    """The day's totals as gauges, every point keyed by the local date, tool, language and feature."""
    series: dict[str, emit.Points] = {C.M_AI_SHOWN: [], C.M_AI_ACCEPTED: [], C.M_AI_LINES: []}
    for t in totals:
        attrs = {
            C.ATTR_DATE: date.isoformat(),
            C.ATTR_AI_TOOL: t.tool,
            C.ATTR_AI_LANGUAGE: t.language,
            C.ATTR_AI_FEATURE: t.feature,
        }
        series[C.M_AI_SHOWN].append((t.shown, attrs))
        series[C.M_AI_ACCEPTED].append((t.accepted, attrs))
        series[C.M_AI_LINES].append((t.lines, attrs))
    return emit.gauges_export(KIND_AI, f"ai:{date.isoformat()}", series, C.AI_UNITS, resource)


@contextlib.contextmanager
def _one_at_a_time(home: Path) -> Iterator[None]:
    """Two records at once must not queue a total that misses one of them after one that has both."""
    try:
        with open(home / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    except OSError as exc:
        raise StateError(f"cannot lock {home / LOCK_FILE}: {exc.strerror or exc}") from exc


def record(agent: Agent, entry: AiRecord) -> int | None:
    """Add ``entry`` and queue the day's totals; None (nothing kept) below detailed consent."""
    entry = validated(entry)
    if not agent.consent().allows(DETAILED):
        return None
    resource = detailed_resource(agent.identity(), agent.state.install_id(), agent.settings)
    with _one_at_a_time(agent.settings.home):
        tally = AiTally(agent.settings.home)
        tally.add(entry)
        return agent.enqueue([day_export(entry.date, tally.day(entry.date), resource)])
