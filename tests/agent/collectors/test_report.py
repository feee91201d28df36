"""The day report: the seed's JSON shapes, privacy of paths, names, backfill, bad input."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from agent.collectors import (
    CollectorSettings,
    InvalidArgumentError,
    InvalidSettingsError,
    backfill,
    collect_day,
)
from tests.agent.collectors.conftest import fake_hash
from tests.agent.collectors.gitrepo import commit, git, init

DAY = dt.date(2026, 6, 15)
AFTER = dt.datetime(2026, 6, 16, 12, tzinfo=dt.UTC)
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def at(hour: int, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


@pytest.fixture
def busy_day(root: Path) -> Path:
    repo = init(root / "backend-api")
    commit(repo, at(9), {"a.py": "1\n2\n"})
    git(repo, "checkout", "-q", "-b", "feature/api")
    commit(repo, at(15), {"a.py": "1\n3\n", "b.py": "b\n"})
    return repo


def test_the_report_has_exactly_the_seeds_json_shapes(busy_day: Path, make_settings) -> None:
    report = collect_day(DAY, make_settings(allow_paths=True), now=AFTER).to_devlake()

    assert json.loads(json.dumps(report)) == report
    assert list(report) == [
        "active_hours",
        "git_activity",
        "development_activity",
        "tools_used",
        "project_context",
    ]
    assert report["active_hours"] == 2
    git_activity = report["git_activity"]
    assert {k: v for k, v in git_activity.items() if k != "repositories"} == {
        "total_commits": 2,
        "total_lines_added": 4,
        "total_lines_deleted": 1,
        "total_files_changed": 3,
    }
    assert git_activity["repositories"] == [
        {
            "name": "backend-api",
            "path": str(busy_day),
            "commits": 2,
            "lines_added": 4,
            "lines_deleted": 1,
            "files_changed": 3,
            "branches_worked": ["feature/api", "main"],
        }
    ]
    assert report["development_activity"] == {"test_runs_detected": 0, "build_commands_detected": 0}
    assert report["tools_used"] == []
    assert report["project_context"] == [
        {"name": "backend-api", "path": str(busy_day), "last_activity": "2026-06-15T15:00:00Z"}
    ]
    assert ISO_UTC.match(report["project_context"][0]["last_activity"])


def test_paths_do_not_leak_without_permission(busy_day: Path, make_settings) -> None:
    report = collect_day(DAY, make_settings(allow_paths=False), shell_signals=[(at(16), busy_day)], now=AFTER)
    text = json.dumps(report.to_devlake())

    assert str(busy_day.parent) not in text
    assert '"path"' not in text
    assert report.repositories[0].path is None and report.projects[0].path is None


def test_commit_ids_leave_only_as_keyed_hashes(busy_day: Path, make_settings) -> None:
    report = collect_day(DAY, make_settings(), now=AFTER)

    head = git(busy_day, "rev-parse", "HEAD")
    assert fake_hash(head) in report.repositories[0].commit_ids
    assert head not in report.repositories[0].commit_ids


def test_repositories_with_the_same_directory_name_are_not_merged(root: Path, make_settings) -> None:
    commit(init(root / "work" / "api"), at(9), {"a": "a\n"})
    commit(init(root / "oss" / "api"), at(10), {"b": "b\nc\n"})

    repos = collect_day(DAY, make_settings(), now=AFTER).to_devlake()["git_activity"]["repositories"]

    assert [(r["name"], r["lines_added"]) for r in repos] == [("oss/api", 2), ("work/api", 1)]


def test_shell_signals_inside_a_repository_make_it_a_project(root: Path, make_settings) -> None:
    repo = init(root / "scripts")
    (repo / "sub").mkdir()

    report = collect_day(DAY, make_settings(), shell_signals=[(at(11).timestamp(), repo / "sub")], now=AFTER)

    assert [(p.name, p.last_activity) for p in report.projects] == [("scripts", at(11))]


def test_backfill_rebuilds_each_past_day_oldest_first_with_a_progress_bar(
    root: Path, make_settings, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = init(root / "svc")
    for days_back, count in ((4, 1), (2, 3), (0, 2)):
        for n in range(count):
            commit(repo, at(9 + n, AFTER.date() - dt.timedelta(days=days_back)), {f"f{days_back}{n}": "x\n"})

    reports = backfill(5, make_settings(), progress=True, now=AFTER)

    assert [r.date for r in reports] == [AFTER.date() - dt.timedelta(days=d) for d in (4, 3, 2, 1, 0)]
    assert [sum(x.commits for x in r.repositories) for r in reports] == [1, 0, 3, 0, 2]
    assert [r.active_hours for r in reports] == [1, 0, 3, 0, 2]
    assert "collecting days" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: backfill(0, s, progress=False), "days: 0"),
        (lambda s: collect_day(DAY + dt.timedelta(days=2), s, now=AFTER), "after today"),
        (lambda s: collect_day(DAY, s, now=dt.datetime(2026, 6, 16)), "timezone-aware"),
        (lambda s: collect_day("2026-06-15", s), "not a datetime.date"),  # type: ignore[arg-type]
        (
            lambda s: collect_day(DAY, s, shell_signals=[("noon", None)], now=AFTER),
            "'noon' is not a timestamp",
        ),
        (lambda s: collect_day(DAY, s, shell_signals=[(1.0,)], now=AFTER), "not a .timestamp, path. pair"),
    ],
)
def test_bad_arguments_are_clear_errors(make_settings, call, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        call(make_settings())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("author_emails", ("not-an-email",), "author_emails: 'not-an-email'"),
        ("gap_minutes", 0, "gap_minutes: 0"),
        ("depth", -1, "depth: -1"),
        ("tool_patterns", {"vim": "("}, r"tool_patterns\['vim'\]"),
        ("hash_commit_id", None, "hash_commit_id"),
    ],
)
def test_bad_settings_are_clear_errors(field: str, value: object, message: str) -> None:
    values = {"author_emails": ("a@b.c",), "hash_commit_id": fake_hash, field: value}
    with pytest.raises(InvalidSettingsError, match=message):
        CollectorSettings(**values)  # type: ignore[arg-type]
