"""Active clock hours, active minutes and file activity."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.collectors import collect_day
from agent.collectors.activity import active_clock_hours, active_minutes
from agent.collectors.clock import LocalDay
from agent.collectors.files import modification_times
from tests.agent.collectors.gitrepo import commit, init

NEW_YORK = ZoneInfo("America/New_York")
DAY = dt.date(2026, 6, 15)
OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp()


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def every(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list[tuple[dt.datetime, None]]:
    stamps = []
    while start < end:
        stamps.append((start, None))
        start += step
    return stamps


def touch(path: Path, when: dt.datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path, (when.timestamp(), when.timestamp()))


def age_tree(tree: Path) -> None:
    """Make every working-tree file old, so only what a test touches is recent."""
    for path in tree.rglob("*"):
        if ".git" not in path.relative_to(tree).parts and path.is_file():
            os.utime(path, (OLD, OLD))


@pytest.mark.parametrize(("day", "hours"), [(dt.date(2026, 11, 1), 25), (dt.date(2026, 3, 8), 23)])
def test_a_daylight_saving_day_has_its_real_number_of_clock_hours(
    make_settings, monkeypatch: pytest.MonkeyPatch, day: dt.date, hours: int
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    start = dt.datetime.combine(day, dt.time(0), NEW_YORK).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), NEW_YORK).astimezone(dt.UTC)
    signals = every(start - dt.timedelta(hours=2), end + dt.timedelta(hours=2), dt.timedelta(minutes=10))

    report = collect_day(
        day, make_settings(timezone=None), shell_signals=signals, now=end + dt.timedelta(days=1)
    )

    assert report.active_hours == hours
    assert report.active_minutes == hours * 60 - 10


def test_the_repeated_hour_of_a_fall_back_night_counts_twice(make_settings) -> None:
    first = dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)  # 01:30 EDT
    second = dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)  # 01:30 EST, the same wall-clock time
    report = collect_day(
        dt.date(2026, 11, 1),
        make_settings(timezone=NEW_YORK),
        shell_signals=[(first, None), (second, None)],
        now=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
    )
    assert sorted(report.active_clock_hours) == [
        int(first.timestamp()) - 1800,
        int(second.timestamp()) - 1800,
    ]


def test_active_minutes_join_signals_closer_than_the_gap(make_settings) -> None:
    signals = [(at(9, m), None) for m in (0, 10, 20, 50)]
    now = at(23)

    default = collect_day(DAY, make_settings(), shell_signals=signals, now=now)
    wider = collect_day(DAY, make_settings(gap_minutes=30), shell_signals=signals, now=now)

    assert (default.active_minutes, wider.active_minutes) == (20, 50)
    assert default.active_hours == 1


def test_two_runs_in_one_hour_count_the_hour_and_the_commits_once(root: Path, make_settings) -> None:
    repo = init(root / "app")
    commit(repo, at(9, 5), {"a.txt": "a\n"})
    age_tree(repo)
    touch(repo / "a.txt", at(9, 20))
    settings = make_settings()
    signals = [(at(9, 25), str(repo))]

    first = collect_day(DAY, settings, shell_signals=signals, now=at(9, 30))
    second = collect_day(DAY, settings, shell_signals=signals, now=at(9, 55))

    assert first.to_devlake() == second.to_devlake()
    assert second.active_hours == 1
    assert second.repositories[0].commits == 1


def test_file_changes_seen_by_earlier_runs_keep_their_hours(root: Path, make_settings) -> None:
    repo = init(root / "app")
    (repo / "main.py").write_text("print()\n")
    age_tree(repo)
    settings = make_settings()
    touch(repo / "main.py", at(9, 10))
    collect_day(DAY, settings, now=at(9, 30))
    touch(repo / "main.py", at(11, 5))  # the same file saved again: the 09:10 mtime is gone

    report = collect_day(DAY, settings, now=at(11, 30))

    assert sorted(report.active_clock_hours) == [int(at(9).timestamp()), int(at(11).timestamp())]
    (project,) = report.to_devlake()["project_context"]
    assert project == {"name": "app", "last_activity": "2026-06-15T11:05:00Z"}


def test_ignored_files_and_git_internals_are_not_activity(root: Path, make_settings) -> None:
    repo = init(root / "app")
    commit(repo, at(8), {".gitignore": "*.log\nout/\n", "a.txt": "a\n"})
    age_tree(repo)
    touch(repo / "debug.log", at(10))
    touch(repo / "out" / "bundle.js", at(11))
    touch(repo / ".git" / "FETCH_HEAD", at(12))
    touch(repo / "notes.md", at(13))  # untracked but not ignored: real work

    report = collect_day(DAY, make_settings(), now=at(23))

    assert sorted(report.active_clock_hours) == [int(at(8).timestamp()), int(at(13).timestamp())]


def test_the_file_scan_stops_at_its_budget(tmp_path: Path) -> None:
    tree = init(tmp_path / "huge")
    for n in range(100):
        touch(tree / f"d{n % 10}" / f"f{n}.txt", at(10))
    window = (at(0).timestamp(), at(23).timestamp())

    assert len(modification_times(tree, *window, skip=frozenset(), max_files=1000)) == 100
    assert len(modification_times(tree, *window, skip=frozenset(), max_files=30)) < 30


FALL_BACK = LocalDay.of(dt.date(2026, 11, 1), NEW_YORK)


@given(st.lists(st.floats(FALL_BACK.start - 7200, FALL_BACK.end + 7200), max_size=60), st.integers(1, 60))
def test_repeating_or_reordering_signals_never_changes_hours_or_minutes(
    signals: list[float], gap: int
) -> None:
    doubled = list(reversed(signals + signals))
    hours = active_clock_hours(FALL_BACK, signals)

    assert active_clock_hours(FALL_BACK, doubled) == hours
    assert active_minutes(FALL_BACK, doubled, gap) == active_minutes(FALL_BACK, signals, gap)
    assert len(hours) <= 25
    assert active_minutes(FALL_BACK, signals, gap) <= (FALL_BACK.end - FALL_BACK.start) // 60
    for stamp in filter(FALL_BACK.contains, signals):
        assert any(start <= stamp < start + 3600 for start in hours)


def test_a_nested_repositorys_files_belong_to_it_not_to_the_outer_one(tmp_path: Path) -> None:
    outer = init(tmp_path / "outer")
    inner = init(outer / "libs" / "inner")
    touch(inner / "x.c", at(10))
    window = (at(0).timestamp(), at(23).timestamp())

    assert modification_times(outer, *window, skip=frozenset(), max_files=100) == []
    assert modification_times(inner, *window, skip=frozenset(), max_files=100) == [at(10).timestamp()]
