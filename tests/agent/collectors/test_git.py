"""Git activity of one local day, counted exactly on real repositories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agent.collectors import RepositoryUnreadableError, RootNotFoundError, collect_day
from tests.agent.collectors.conftest import fake_hash
from tests.agent.collectors.gitrepo import DEV, OTHER, commit, git, init

DAY = dt.date(2026, 6, 15)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def only(report):
    (repo,) = report.repositories
    return repo


def test_counts_only_the_developers_commits_case_insensitively(root: Path, make_settings) -> None:
    repo = init(root / "api")
    commit(repo, at(9), {"a.txt": "1\n2\n3\n"})
    commit(repo, at(10), {"b.txt": "x\n"}, email=OTHER)
    commit(repo, at(11), {"a.txt": "1\n3\n4\n5\n"}, email=DEV.upper())

    activity = only(collect_day(DAY, make_settings()))

    assert (activity.commits, activity.lines_added, activity.lines_deleted, activity.files_changed) == (
        2,
        5,
        1,
        2,
    )


def test_binary_files_change_files_but_add_no_lines(root: Path, make_settings) -> None:
    repo = init(root / "assets")
    commit(repo, at(9), {"logo.png": bytes(range(256)) * 4, "notes.txt": "a\nb\n"})

    activity = only(collect_day(DAY, make_settings()))

    assert (activity.lines_added, activity.lines_deleted, activity.files_changed) == (2, 0, 2)


def test_a_commit_on_two_branches_counts_once_and_both_branches_are_worked(root: Path, make_settings) -> None:
    repo = init(root / "svc")
    commit(repo, at(8), {"a.txt": "a\n"})
    git(repo, "branch", "release")
    git(repo, "checkout", "-q", "-b", "feature/x")
    commit(repo, at(9), {"b.txt": "b\n"})

    activity = only(collect_day(DAY, make_settings()))

    assert activity.commits == 2
    assert sorted(activity.branches_worked) == ["feature/x", "main", "release"]
    assert len(set(activity.commit_ids)) == 2


def test_merges_count_as_commits_without_counting_their_lines_twice(root: Path, make_settings) -> None:
    repo = init(root / "web")
    commit(repo, at(8), {"a.txt": "a\n"})
    git(repo, "checkout", "-q", "-b", "topic")
    commit(repo, at(9), {"b.txt": "b1\nb2\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, at(10), {"c.txt": "c\n"})
    git(repo, "merge", "-q", "--no-ff", "-m", "merge topic", "topic", when=at(11))

    activity = only(collect_day(DAY, make_settings()))

    assert (activity.commits, activity.lines_added, activity.files_changed) == (4, 4, 3)
    assert sorted(activity.branches_worked) == ["main", "topic"]


def test_the_developers_own_cherry_picked_copy_counts_once(root: Path, make_settings) -> None:
    repo = init(root / "lib")
    commit(repo, at(8), {"a.txt": "a\n"})
    git(repo, "checkout", "-q", "-b", "topic")
    original = commit(repo, at(9), {"b.txt": "b\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, at(10), {"c.txt": "c\n"})
    git(repo, "cherry-pick", original, when=at(11))

    activity = only(collect_day(DAY, make_settings()))

    # Four commits on the branches, three changes written: the copy keeps the author time.
    assert len(git(repo, "rev-list", "--branches").split()) == 4
    assert activity.commits == 3
    assert (
        len({fake_hash(original), fake_hash(git(repo, "rev-parse", "main"))} & set(activity.commit_ids)) == 1
    )


def test_commits_either_side_of_local_midnight_land_on_their_local_days(
    root: Path, make_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")  # UTC+2 in June: local midnight is 22:00 UTC
    repo = init(root / "night")
    commit(repo, at(21, 59), {"a.txt": "before\n"})  # 23:59 in Berlin, on DAY
    commit(repo, at(22, 1), {"b.txt": "after\n"})  # 00:01 in Berlin, the next day
    settings = make_settings(timezone=None)

    first = collect_day(DAY, settings)
    second = collect_day(DAY + dt.timedelta(days=1), settings)

    assert only(first).commits == 1
    assert only(second).commits == 1
    assert first.active_hours == second.active_hours == 1


def test_commits_outside_the_day_and_on_no_branch_are_not_counted(root: Path, make_settings) -> None:
    repo = init(root / "edge")
    commit(repo, at(23, 59, DAY - dt.timedelta(days=1)), {"a.txt": "old\n"})
    commit(repo, at(0, 0), {"b.txt": "first second of the day\n"})
    commit(repo, at(0, 0, DAY + dt.timedelta(days=1)), {"c.txt": "next day\n"})
    git(repo, "checkout", "-q", "--detach")
    commit(repo, at(12), {"d.txt": "detached, on no branch\n"})

    assert only(collect_day(DAY, make_settings())).commits == 1


def test_a_day_without_the_developers_commits_has_no_repositories(root: Path, make_settings) -> None:
    repo = init(root / "quiet")
    commit(repo, at(9), {"a.txt": "a\n"}, email=OTHER)
    init(root / "empty")

    assert collect_day(DAY, make_settings()).repositories == []


def test_a_missing_root_is_a_clear_error(root: Path, make_settings) -> None:
    with pytest.raises(RootNotFoundError, match="nowhere"):
        collect_day(DAY, make_settings(roots=(root / "nowhere",)))


def test_an_extra_repository_that_is_not_one_is_a_clear_error(root: Path, make_settings) -> None:
    plain = root / "plain"
    plain.mkdir()
    with pytest.raises(RepositoryUnreadableError, match=r"no \.git"):
        collect_day(DAY, make_settings(extra_repositories=(plain,)))


def test_a_broken_repository_is_skipped_and_the_others_still_count(root: Path, make_settings) -> None:
    broken = root / "broken"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nonexistent\n")
    commit(init(root / "fine"), at(9), {"a.txt": "a\n"})

    assert only(collect_day(DAY, make_settings())).commits == 1


def test_repositories_beyond_the_depth_or_in_vendored_trees_are_not_discovered(
    root: Path, make_settings
) -> None:
    for where in ("a/b/c/d/deep", "node_modules/pkg", ".cache/clone", "a/b/shallow"):
        commit(init(root / where), at(9), {"a.txt": "a\n"})

    names = [r.name for r in collect_day(DAY, make_settings(depth=4)).repositories]

    assert names == ["shallow"]


def test_extra_repositories_outside_the_roots_are_collected(tmp_path: Path, make_settings) -> None:
    repo = init(tmp_path / "elsewhere" / "tool")
    commit(repo, at(9), {"a.txt": "a\n"})

    assert only(collect_day(DAY, make_settings(extra_repositories=(repo,)))).commits == 1


def test_a_new_commit_after_an_earlier_run_is_counted_by_the_next_run(
    root: Path, make_settings, agent_env: dict[str, str]
) -> None:
    repo = init(root / "hourly")
    commit(repo, at(9), {"a.txt": "a\n"})
    settings = make_settings()
    assert only(collect_day(DAY, settings)).commits == 1
    assert (Path(agent_env["DEVTEL_HOME"]) / "activity.db").is_file()

    commit(repo, at(10), {"b.txt": "b\n"})

    assert only(collect_day(DAY, settings)).commits == 2


def test_a_branch_named_like_a_tag_keeps_its_name(root: Path, make_settings) -> None:
    repo = init(root / "tags")
    commit(repo, at(9), {"a.txt": "a\n"})
    git(repo, "tag", "main")

    assert only(collect_day(DAY, make_settings())).branches_worked == ["main"]


def test_linked_worktrees_of_one_repository_count_each_commit_once(root: Path, make_settings) -> None:
    repo = init(root / "main")
    commit(repo, at(8), {"a.txt": "a\n"})
    git(repo, "worktree", "add", "-q", "-b", "feature", str(root / "wt-feature"))
    commit(root / "wt-feature", at(9), {"b.txt": "b\n"})

    report = collect_day(DAY, make_settings())

    (activity,) = report.repositories
    assert (activity.name, activity.commits) == ("main", 2)
    assert sorted(activity.branches_worked) == ["feature", "main"]


def test_a_commit_pulled_into_a_second_clone_counts_once(root: Path, make_settings) -> None:
    first = init(root / "a-origin")
    commit(first, at(9), {"a.txt": "a\n"})
    git(root, "clone", "-q", str(first), str(root / "b-copy"))
    commit(root / "b-copy", at(10), {"b.txt": "b\n"})

    report = collect_day(DAY, make_settings()).to_devlake()["git_activity"]

    assert report["total_commits"] == 2
    assert [(r["name"], r["commits"]) for r in report["repositories"]] == [("a-origin", 1), ("b-copy", 1)]


def test_repositories_inside_a_home_kept_under_git_are_still_found(root: Path, make_settings) -> None:
    commit(init(root), at(8), {".profile": "x\n"})
    commit(init(root / "src" / "app"), at(9), {"a.txt": "a\n"})

    names = sorted(r.name for r in collect_day(DAY, make_settings()).repositories)

    assert names == ["app", "code"]
