"""``python -m agent.collectors``: preview and backfill print JSON and send nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.agent.collectors.gitrepo import DEV, commit, init

WORKTREE = Path(__file__).resolve().parents[3]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(WORKTREE), TZ="UTC")
    return subprocess.run(
        [sys.executable, "-m", "agent.collectors", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_preview_prints_the_day_as_it_would_be_reported(root: Path, agent_env: dict[str, str]) -> None:
    commit(init(root / "api"), dt.datetime(2026, 6, 15, 9, tzinfo=dt.UTC), {"a": "a\n"})

    result = run("--root", str(root), "--email", DEV, "preview", "--date", "2026-06-15")

    day = json.loads(result.stdout)
    assert (day["date"], day["active_hours"], day["git_activity"]["total_commits"]) == ("2026-06-15", 1, 1)
    assert str(root) not in result.stdout


def test_backfill_prints_every_day_and_shows_progress(root: Path, agent_env: dict[str, str]) -> None:
    commit(init(root / "api"), dt.datetime.now(dt.UTC), {"a": "a\n"})

    result = run("--root", str(root), "--email", DEV, "backfill", "--days", "3")

    days = [json.loads(chunk) for chunk in result.stdout.replace("}\n{", "}\x00{").split("\x00")]
    assert [d["git_activity"]["total_commits"] for d in days] == [0, 0, 1]
    assert "collecting days" in result.stderr


def test_a_missing_root_exits_2_with_the_reason(root: Path, agent_env: dict[str, str]) -> None:
    result = run("--root", str(root / "gone"), "--email", DEV, "preview")

    assert result.returncode == 2
    assert "does not exist" in result.stderr
