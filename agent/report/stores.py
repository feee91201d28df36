"""The developer's period as the agent's local stores hold it: days, shell commands, AI totals.

Only files under DEVTEL_HOME are read, and a store that does not exist yet is an empty one
(the report must not create files on a machine that never collected). Nothing is collected
and nothing is sent: the figures are what the agent's last pass kept.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agent import ai, store
from agent.collectors.clock import LocalDay, local_zone
from agent.day import CommandRun, DayReport
from agent.errors import StateError
from agent.shell import store as shell_store
from agent.shell import summary as shell_summary


@dataclass(frozen=True, slots=True)
class StoredDay:
    """One date of the period: the collected day (None if never collected), its commands and AI use."""

    date: dt.date
    day: DayReport | None
    commands: list[CommandRun] = field(default_factory=list)
    ai: list[ai.AiRecord] = field(default_factory=list)


def period_dates(last: dt.date, days: int) -> list[dt.date]:
    """``days`` local dates ending with ``last``, oldest first."""
    return [last - dt.timedelta(days=back) for back in range(days - 1, -1, -1)]


def load_period(home: Path, dates: list[dt.date], zone: dt.tzinfo | None = None) -> list[StoredDay]:
    """Each date's stored data. Commands come from the shell store when it has the day's (it is
    fed on every pass, also between collections), else from the collected day's own copy (the
    shell store keeps 40 days; the day store keeps them all)."""
    zone = zone or local_zone()
    with _readable(home / store.DB_FILE):
        days = _days(home, dates)
    with _readable(home / shell_store.DB_FILE):
        per_date = _shell_commands(home, dates, zone)
    with _readable(home / ai.DB_FILE):
        tallies = _ai(home, dates)
    return [
        StoredDay(
            date=date,
            day=days.get(date),
            commands=per_date.get(date) or (days[date].commands if date in days else []),
            ai=tallies.get(date, []),
        )
        for date in dates
    ]


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """A store that cannot be read (damaged, locked past the timeout) is an error naming its file."""
    try:
        yield
    except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        raise StateError(f"cannot read {path}: {exc}") from exc


def _days(home: Path, dates: list[dt.date]) -> dict[dt.date, DayReport]:
    if not (home / store.DB_FILE).exists():
        return {}
    days = store.DayStore(home)
    return {date: day for date in dates if (day := days.load(date)) is not None}


def _shell_commands(home: Path, dates: list[dt.date], zone: dt.tzinfo) -> dict[dt.date, list[CommandRun]]:
    if not dates or not (home / shell_store.DB_FILE).exists():
        return {}
    bounds = [LocalDay.of(date, zone) for date in dates]
    commands = shell_store.CommandStore(home)
    try:
        stored = commands.between(bounds[0].start, bounds[-1].end)
    finally:
        commands.close()
    # One naming pass over the whole period, so a repository keeps one name on every day.
    per_date: dict[dt.date, list[CommandRun]] = {}
    for run in shell_summary.runs(stored):
        date = dt.datetime.fromtimestamp(run.ended_at, zone).date()
        per_date.setdefault(date, []).append(run)
    return per_date


def _ai(home: Path, dates: list[dt.date]) -> dict[dt.date, list[ai.AiRecord]]:
    if not (home / ai.DB_FILE).exists():
        return {}
    tally = ai.AiTally(home)
    return {date: records for date in dates if (records := tally.day(date))}
