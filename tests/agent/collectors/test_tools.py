"""Tools in use, from the real process table."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.collectors import DEFAULT_TOOL_PATTERNS, collect_day

SLEEP = shutil.which("sleep") or "/bin/sleep"
WORKTREE = Path(__file__).resolve().parents[3]


def exact(path: Path) -> str:
    return re.escape(str(path)) + "$"


@pytest.fixture
def start_tool(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Starts a copy of ``sleep`` under a given name, orphaned so it is not the test's child."""
    pids: list[int] = []

    def start(name: str) -> Path:
        exe = tmp_path / "bin" / name
        exe.parent.mkdir(exist_ok=True)
        shutil.copy(SLEEP, exe)
        out = subprocess.run(
            ["sh", "-c", f'"{exe}" 60 >/dev/null 2>&1 & echo $!'], capture_output=True, text=True, check=True
        )
        pids.append(int(out.stdout))
        return exe

    yield start
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def today_now() -> tuple[dt.date, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    return now.date(), now


def test_only_tools_really_running_are_reported(start_tool, make_settings) -> None:
    running = start_tool(f"devtel-ide-{secrets.token_hex(4)}")
    patterns = {"running-ide": exact(running), "absent-ide": exact(running.with_name("absent-ide"))}
    day, now = today_now()

    report = collect_day(day, make_settings(tool_patterns=patterns), shell_signals=[(now, None)], now=now)

    assert report.tools_used == {"running-ide"}


def test_a_tool_running_only_in_inactive_hours_does_not_count(start_tool, make_settings) -> None:
    running = start_tool(f"devtel-ide-{secrets.token_hex(4)}")
    day, now = today_now()

    report = collect_day(day, make_settings(tool_patterns={"ide": exact(running)}), now=now)

    assert report.active_hours == 0
    assert report.tools_used == set()


def test_the_default_patterns_recognise_an_editor_by_its_executable(start_tool, make_settings) -> None:
    start_tool("nvim")
    day, now = today_now()

    settings = make_settings(tool_patterns=DEFAULT_TOOL_PATTERNS)

    report = collect_day(day, settings, shell_signals=[(now, None)], now=now)

    assert "neovim" in report.tools_used


PROBE = """
import datetime as dt, json, re, subprocess, sys
from pathlib import Path
import psutil
from agent.collectors import CollectorSettings, collect_day

child = subprocess.Popen([sys.argv[1], "60"])
me = psutil.Process()
patterns = {"agent": re.escape(me.exe()) + "$", "agent-child": re.escape(sys.argv[1]) + "$"}
now = dt.datetime.now(dt.UTC)
settings = CollectorSettings(
    author_emails=(), hash_commit_id=str, roots=(Path(sys.argv[2]),), tool_patterns=patterns, timezone=dt.UTC
)
report = collect_day(now.date(), settings, shell_signals=[(now, None)], now=now)
exes = (me.exe(), sys.argv[1])
visible = sorted(p.info["exe"] for p in psutil.process_iter(["exe"]) if p.info["exe"] in exes)
child.kill()
print(json.dumps({"tools": sorted(report.tools_used), "visible": visible}))
"""


def test_the_agent_never_reports_itself_or_its_own_children(
    tmp_path: Path, agent_env: dict[str, str]
) -> None:
    """The old collector's scan matched its own grep and reported all 9 tools, every time."""
    agent = tmp_path / f"devtel-agent-{secrets.token_hex(4)}"
    child = tmp_path / f"devtel-agent-child-{secrets.token_hex(4)}"
    shutil.copy(os.path.realpath(sys.executable), agent)
    shutil.copy(SLEEP, child)
    empty = tmp_path / "empty"
    empty.mkdir()
    site = next(p for p in sys.path if p.endswith("site-packages"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(WORKTREE), site]))

    out = subprocess.run(
        [str(agent), "-c", PROBE, str(child), str(empty)], env=env, capture_output=True, text=True, check=True
    )

    result = json.loads(out.stdout)
    assert result["visible"] == sorted([str(agent), str(child)])  # both were there to be matched
    assert result["tools"] == []
