"""Where the day comes from: the real collectors over real git repositories, or, with
`[collectors] enabled = false`, the local store alone."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import load_settings
from agent.day import DayReport
from agent.errors import ConfigError
from agent.identity import resolve
from agent.source import build_day
from agent.store import DayStore
from tests.agent.conftest import EMAIL, LOGIN, sample_day
from tests.support.processes import create_connection, start_receiver

TODAY = dt.date.today()


def _store(env: dict[str, str]) -> DayStore:
    Path(env["DEVTEL_HOME"]).mkdir(parents=True, exist_ok=True)
    return DayStore(Path(env["DEVTEL_HOME"]))


def make_repository(path: Path, commits: int, email: str = EMAIL) -> list[str]:
    """A real repository with ``commits`` commits authored today by ``email``; returns their ids."""
    path.mkdir(parents=True)
    git_env = {
        **os.environ,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_AUTHOR_NAME": "A",
        "GIT_COMMITTER_NAME": "A",
    }

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=path, env=git_env, check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    ids = []
    for n in range(commits):
        (path / f"file{n}.txt").write_text("line\n" * (n + 1))
        git("add", ".")
        git("commit", "-q", "-m", f"change {n}")
        ids.append(git("rev-parse", "HEAD"))
    return ids


def test_stored_day_is_used_when_collectors_are_off(env, write_config) -> None:
    write_config("[collectors]\nenabled = false\n")
    settings = load_settings(os.environ)
    store = _store(env)
    assert build_day(TODAY, settings, store, resolve(settings)) == DayReport(date=TODAY)
    store.save(sample_day(TODAY))
    assert build_day(TODAY, settings, store, resolve(settings)).active_minutes == 95


def test_collectors_read_real_repositories_and_the_day_is_stored(env, write_config, tmp_path) -> None:
    make_repository(tmp_path / "src" / "alpha", commits=3)
    make_repository(tmp_path / "src" / "beta", commits=2, email="someone.else@example.com")
    write_config(f'[collectors]\nroots = ["{tmp_path / "src"}"]\ndepth = 2\n')
    settings = load_settings(os.environ)
    store = _store(env)
    day = build_day(TODAY, settings, store, resolve(settings))
    assert [(r.name, r.commits) for r in day.repositories if r.commits] == [("alpha", 3)]
    assert day.active_hours >= 1
    assert store.load(TODAY) == day


def test_a_bad_collectors_table_names_the_file_and_key(env, write_config) -> None:
    write_config('[collectors]\nroots = "not a list"\n')
    with pytest.raises(ConfigError, match=r"key 'collectors.roots': expected list"):
        load_settings(os.environ)
    write_config("[collectors]\ngap_minutes = 0\n")
    settings = load_settings(os.environ)
    with pytest.raises(ConfigError, match=r"\[collectors\] gap_minutes"):
        build_day(TODAY, settings, _store(env), resolve(settings))


def test_collect_sends_the_real_repositories_to_the_real_receiver(env, write_config, tmp_path) -> None:
    commit_ids = make_repository(tmp_path / "src" / "alpha", commits=4)
    db_path = tmp_path / "receiver.db"
    connection_id, key = create_connection(f"sqlite:///{db_path}", "collect")
    receiver = start_receiver(f"sqlite:///{db_path}", tmp_path)
    try:
        write_config(
            f'[collectors]\nroots = ["{tmp_path / "src"}"]\n'
            f'[sinks.r]\ntype = "otlp"\nendpoint = "{receiver.url}"\n'
            f'[sinks.r.headers]\nAuthorization = "Bearer {key}"\n'
        )
        main(["consent", "detailed"])
        assert main(["collect"]) == 0
    finally:
        receiver.stop()
    with sqlite3.connect(db_path) as db:
        git_activity, snapshots = db.execute(
            "SELECT git_activity, (SELECT group_concat(fields) FROM _devtel_install_days)"
            " FROM _tool_developer_metrics WHERE connection_id = ? AND developer_id = ? AND date = ?",
            (connection_id, LOGIN, TODAY.isoformat()),
        ).fetchone()
    assert json.loads(git_activity)["total_commits"] == 4
    assert all(commit_id not in snapshots for commit_id in commit_ids), "raw commit ids left the machine"
