"""Whose commits, which day: the collectors against the truth ``git log`` gives on real setups
(includeIf work emails, repo-local emails, hosting-service squash merges, patches applied by a
maintainer, cherry-picks by others, amended and rebased commits, committer dates going back)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from agent.collectors import collect_day
from tests.agent.collectors.conftest import fake_hash
from tests.agent.collectors.gitrepo import DEV, OTHER, commit, git, init
from tests.agent.collectors.truth import addresses_in, day_truth, git_says

DAY = dt.date(2026, 6, 15)
PERSONAL, WORK, GITHUB = "me@personal.example", "me@corp.example", "noreply@github.com"


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def commit_as(
    repo: Path,
    files: dict[str, str],
    *,
    author: str,
    committer: str,
    written: dt.datetime,
    committed: dt.datetime,
    message: str = "change",
) -> str:
    """A commit whose author and committer (and their dates) differ, as a hosting service makes."""
    for name, text in files.items():
        (repo / name).write_text(text)
    env = dict(
        os.environ,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="a",
        GIT_AUTHOR_EMAIL=author,
        GIT_AUTHOR_DATE=f"@{int(written.timestamp())} +0000",
        GIT_COMMITTER_NAME="c",
        GIT_COMMITTER_EMAIL=committer,
        GIT_COMMITTER_DATE=f"@{int(committed.timestamp())} +0000",
    )
    subprocess.run(["git", "-C", str(repo), "add", "-A"], env=env, check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", message], env=env, check=True)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def global_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The developer's ~/.gitconfig: a personal global email (what the old agent used everywhere)."""
    path = tmp_path / "gitconfig"
    path.write_text(f"[user]\n\temail = {PERSONAL}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return path


def figures(report, name: str) -> tuple[int, int, int, int]:
    repo = next((r for r in report.repositories if r.name == name), None)
    if repo is None:
        return (0, 0, 0, 0)
    return (repo.commits, repo.lines_added, repo.lines_deleted, repo.files_changed)


def truth_figures(repo: Path, addresses: set[str], date: dt.date = DAY) -> tuple[int, int, int, int]:
    t = day_truth(repo, date, addresses)
    return (t.commits, t.lines_added, t.lines_deleted, t.files_changed)


def test_an_include_if_work_email_counts_the_work_commits_and_is_the_day_email(
    root: Path, make_settings, global_config: Path, tmp_path: Path
) -> None:
    work_config = tmp_path / "work.gitconfig"
    work_config.write_text(f"[user]\n\temail = {WORK}\n")
    global_config.write_text(
        f'[user]\n\temail = {PERSONAL}\n[includeIf "gitdir:{root}/work/"]\n\tpath = {work_config}\n'
    )
    repo = init(root / "work" / "api")
    for hour in (9, 11, 14):
        commit(repo, at(hour), {f"f{hour}.py": "x\n" * hour}, email=WORK)
    # git itself resolves the includeIf there: the work email wins, the personal one is also theirs.
    assert git_says(repo, "config", "--get", "user.email").strip() == WORK
    assert addresses_in(repo) == {WORK, PERSONAL}

    report = collect_day(DAY, make_settings(author_emails=()))

    assert figures(report, "api") == truth_figures(repo, addresses_in(repo)) == (3, 34, 0, 3)
    assert report.author_email == WORK


def test_a_repo_local_email_counts_and_extra_addresses_add_to_it(
    root: Path, make_settings, global_config: Path
) -> None:
    local = init(root / "oss" / "lib")
    git(local, "config", "user.email", "me@oss.example")
    commit(local, at(9), {"a": "a\n"}, email="me@oss.example")
    old = init(root / "old")
    commit(old, at(10), {"b": "b\nb\n"}, email="me@old-laptop.example")

    report = collect_day(DAY, make_settings(author_emails=("me@old-laptop.example",)))

    assert figures(report, "lib") == truth_figures(local, addresses_in(local)) == (1, 1, 0, 1)
    assert figures(report, "old") == truth_figures(old, {"me@old-laptop.example"}) == (1, 2, 0, 1)


def test_squash_merges_patches_and_cherry_picks_by_others_add_nothing(
    root: Path, make_settings, global_config: Path
) -> None:
    repo = init(root / "svc")
    commit(repo, at(8), {"base": "base\n"}, email=DEV)
    # The developer's own work of the day.
    commit(repo, at(9), {"mine": "1\n2\n3\n"}, email=DEV)
    # The hosting service squash-merges their pull request: author them, committer GitHub.
    commit_as(repo, {"pr": "1\n" * 40}, author=DEV, committer=GITHUB, written=at(10), committed=at(16))
    # A maintainer applies their patch; someone else cherry-picks their commit.
    commit_as(repo, {"patch": "p\n" * 7}, author=DEV, committer=OTHER, written=at(11), committed=at(17))
    commit_as(repo, {"pick": "q\n" * 5}, author=DEV, committer=OTHER, written=at(12), committed=at(18))

    report = collect_day(DAY, make_settings())

    assert figures(report, "svc") == truth_figures(repo, {DEV}) == (2, 4, 0, 2)
    # Nor do they make the hours they were committed in active.
    assert {dt.datetime.fromtimestamp(h, dt.UTC).hour for h in report.active_clock_hours} == {8, 9}


def test_amended_and_rebased_own_commits_count_once_on_the_day_they_were_written(
    root: Path, make_settings, global_config: Path
) -> None:
    repo = init(root / "app")
    commit(repo, at(8), {"a": "a\n"})
    git(repo, "checkout", "-q", "-b", "topic")
    first = commit(repo, at(10), {"t": "t\n"}, message="topic work")
    # The next day: amended, then rebased onto a newer main.
    next_day = DAY + dt.timedelta(days=1)
    git(repo, "commit", "-q", "--amend", "--no-edit", when=at(9, day=next_day))
    git(repo, "checkout", "-q", "main")
    commit(repo, at(10, day=next_day), {"m": "m\n"})
    git(repo, "checkout", "-q", "topic")
    git(repo, "rebase", "-q", "main", when=at(11, day=next_day))
    rebased = git(repo, "rev-parse", "topic")
    git(repo, "branch", "keep-original", first)  # the original copy kept on a branch

    written, redone = collect_day(DAY, make_settings()), collect_day(next_day, make_settings())

    assert figures(written, "app") == truth_figures(repo, {DEV}) == (2, 2, 0, 2)
    assert len({fake_hash(first), fake_hash(rebased)} & set(written.repositories[0].commit_ids)) == 1
    assert figures(redone, "app") == truth_figures(repo, {DEV}, next_day) == (1, 1, 0, 1)


def test_committer_dates_going_backwards_lose_no_commit_of_the_day(
    root: Path, make_settings, global_config: Path
) -> None:
    repo = init(root / "skew")
    commit(repo, at(7, day=DAY - dt.timedelta(days=1)), {"y": "y\n"})
    for hour in (9, 10):
        commit(repo, at(hour), {f"d{hour}": "d\n" * hour})
    # Imported commits and a laptop with a wrong clock: committer dates years back, on top of
    # the day's commits; then more work of the day.
    long_ago = dt.datetime(2019, 3, 1, tzinfo=dt.UTC)
    commit_as(repo, {"i1": "i\n"}, author=DEV, committer=DEV, written=long_ago, committed=long_ago)
    commit_as(repo, {"i2": "i\ni\n"}, author=DEV, committer=DEV, written=long_ago, committed=long_ago)
    commit_as(repo, {"c": "c\n" * 3}, author=DEV, committer=DEV, written=at(13), committed=long_ago)
    commit(repo, at(15), {"e": "e\n" * 4})

    report = collect_day(DAY, make_settings())

    assert figures(report, "skew") == truth_figures(repo, {DEV}) == (4, 26, 0, 4)
    assert {dt.datetime.fromtimestamp(h, dt.UTC).hour for h in report.active_clock_hours} == {9, 10, 13, 15}


def test_a_repository_whose_commits_match_none_of_the_addresses_is_named_locally(
    root: Path, make_settings, global_config: Path
) -> None:
    repo = init(root / "typo")
    commit(repo, at(9), {"a": "a\n"}, email="me@old-domain.example")
    commit(repo, at(10), {"b": "b\n"}, email=OTHER)
    mine = init(root / "fine")
    commit(mine, at(9), {"a": "a\n"})

    report = collect_day(DAY, make_settings())

    (warning,) = report.identity_warnings
    assert str(repo) in warning and "me@old-domain.example" in warning and OTHER in warning
    assert DEV in warning and PERSONAL in warning
    assert str(repo) not in str(report.to_devlake())


def test_a_command_counts_every_clock_hour_it_spans(root: Path, make_settings, global_config: Path) -> None:
    repo = init(root / "build")
    start, end = at(9, 10), at(11, 50)
    lasted = (end - start).total_seconds()

    report = collect_day(DAY, make_settings(), shell_signals=[(end, repo, lasted)])

    assert {dt.datetime.fromtimestamp(h, dt.UTC).hour for h in report.active_clock_hours} == {9, 10, 11}


def test_a_changed_address_is_noticed_on_the_next_run(root: Path, make_settings, global_config: Path) -> None:
    repo = init(root / "later")
    commit(repo, at(9), {"a": "a\n"}, email="me@forgotten.example")
    assert collect_day(DAY, make_settings()).repositories == []
    git(repo, "config", "user.email", "me@forgotten.example")  # the developer fixes their setup

    report = collect_day(DAY, make_settings())

    assert figures(report, "later") == truth_figures(repo, addresses_in(repo)) == (1, 1, 0, 1)
