"""Exact counts on a 100k-commit repository made with git fast-import."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agent.collectors import collect_day
from tests.agent.collectors.conftest import HISTORY_COMMITS, HISTORY_LAST
from tests.agent.collectors.gitrepo import DEV, history_author, history_commit_time, history_lines


def expected(day: dt.date) -> tuple[int, int]:
    """(commits, lines added) of the developer on a UTC ``day``, from the generator's rules."""
    start = dt.datetime.combine(day, dt.time(0), dt.UTC).timestamp()
    end = start + 86_400
    mine = [
        i
        for i in range(HISTORY_COMMITS)
        if start <= history_commit_time(i, HISTORY_COMMITS, HISTORY_LAST) < end and history_author(i) == DEV
    ]
    return len(mine), sum(history_lines(i) for i in mine)


@pytest.mark.parametrize(
    "day",
    [HISTORY_LAST.date(), HISTORY_LAST.date() - dt.timedelta(days=300), dt.date(2024, 7, 21)],
    ids=["last-day", "300-days-back", "first-day"],
)
def test_exact_counts_on_a_day_of_a_100k_commit_history(
    history_repo: Path, make_settings, day: dt.date
) -> None:
    commits, lines = expected(day)
    assert commits > 0

    report = collect_day(day, make_settings(roots=(history_repo.parent,)))

    (repo,) = report.repositories
    assert (repo.commits, repo.lines_added, repo.lines_deleted, repo.files_changed) == (
        commits,
        lines,
        0,
        commits,
    )
    assert repo.branches_worked == ["main"]
    assert report.to_devlake()["git_activity"]["total_commits"] == commits
