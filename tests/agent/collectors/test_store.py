"""The collectors' SQLite state: what later runs may skip, and refusing a newer schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.collectors import StateFileError
from agent.collectors.store import ActivityStore

HOUR = 3600.0


def test_a_later_scan_starts_where_the_last_one_ended(tmp_path: Path) -> None:
    store = ActivityStore(tmp_path / "activity.db")
    day_start = 1_000 * HOUR

    first_start, coverage = store.scan_window("/r", day_start, day_start + 9 * HOUR)
    store.record(files=[], scans=[coverage], tools=[], at=day_start + 9 * HOUR)
    second_start, coverage = store.scan_window("/r", day_start, day_start + 10 * HOUR)

    assert first_start == day_start
    assert second_start == day_start + 9 * HOUR - 60  # a minute of overlap
    assert tuple(coverage) == ("/r", day_start, day_start + 10 * HOUR)


def test_a_scan_reaching_further_back_than_the_recorded_one_starts_over(tmp_path: Path) -> None:
    store = ActivityStore(tmp_path / "activity.db")
    _start, coverage = store.scan_window("/r", 1_000 * HOUR, 1_010 * HOUR)
    store.record(files=[], scans=[coverage], tools=[], at=1_010 * HOUR)

    assert store.scan_window("/r", 900 * HOUR, 1_011 * HOUR)[0] == 900 * HOUR


def test_the_same_minute_recorded_twice_is_one_signal(tmp_path: Path) -> None:
    store = ActivityStore(tmp_path / "activity.db")
    for _ in range(2):
        store.record(
            files=[("/r", 100 * HOUR + 5), ("/r", 100 * HOUR + 50)], scans=[], tools=["vim"], at=100 * HOUR
        )

    assert store.file_signals(0, 200 * HOUR) == [("/r", 100 * HOUR)]
    assert store.tool_sightings(0, 200 * HOUR) == [("vim", 100 * HOUR)]


def test_a_state_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "activity.db"
    ActivityStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema'")

    with pytest.raises(StateFileError, match="schema 99"):
        ActivityStore(path)
