"""Figures for `devtel-agent report`: its wall time for a week and for 90 days of a busy
developer's data, against the cheapest agent command in the same run (`devtel-agent consent
show`: Python start-up, the agent's imports, config and state), as ratios.

Run: ``python -m pytest tests/benchmarks/test_bench_report.py -s -m benchmark``.

The stores are filled through their own save paths, as a real install fills them: 90 collected
days (each with its commands, as `collect` keeps them), the shell store with the last 40 days
of commands (its retention) and their CPU samples, and an AI tally. Per day: 8 active hours, 3
repositories with commits, 300 shell commands (40 test runs, 15 builds, the rest vcs and
other), 10 of them long enough to be sampled. Each figure is the median of interleaved rounds
of a fresh process; the machine is shared, so compare the ratios. A screenshot of the week's
page is kept under .artifacts/report/busy-week.png.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.ai import AiRecord, AiTally
from agent.day import CommandRun, DayReport, RepositoryActivity
from agent.shell.sampler import TreeSample
from agent.shell.store import CommandStore, StoredCommand
from agent.store import DayStore
from tests.support import chromium

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).resolve().parents[2]
DAYS, SHELL_DAYS, COMMANDS_PER_DAY, ROUNDS = 90, 40, 300, 5
KINDS = [("test", "pytest")] * 40 + [("build", "make")] * 15 + [("vcs", "git")] * 80 + [("other", "")] * 165


def _fill(home: Path, today: dt.date) -> None:
    rng = random.Random(21)
    days, shell = DayStore(home), CommandStore(home)
    tally = AiTally(home)
    repos = [home.parent / "src" / name for name in ("api", "web", "infra")]
    for back in range(DAYS):
        date = today - dt.timedelta(days=back)
        start = dt.datetime.combine(date, dt.time(9)).astimezone().timestamp()
        stored = []
        for n, (category, tool) in enumerate(KINDS):
            duration = rng.uniform(20, 300) if category in ("test", "build") else rng.uniform(0.01, 2)
            code = 1 if rng.random() < 0.2 else 0
            stored.append(
                StoredCommand(
                    start + n * 96 + duration,
                    duration,
                    code,
                    "failure" if code else "success",
                    category,
                    tool,
                    str(repos[n % 3]),
                    4242,
                )
            )
        day = DayReport(
            date=date,
            active_clock_hours={int(start) + 3600 * h for h in range(8)},
            active_minutes=420,
            repositories=[
                RepositoryActivity(r.name, commits=4, lines_added=120, lines_deleted=30, files_changed=9)
                for r in repos
            ],
            command_counts={"test": 40, "build": 15, "vcs": 80, "other": 165},
            commands=[
                CommandRun(
                    c.ended_at,
                    c.duration_s,
                    c.exit_code,
                    c.outcome,
                    c.category,
                    c.tool,
                    Path(c.repository).name,
                )
                for c in stored
            ],
        )
        days.save(day)
        if back < SHELL_DAYS:
            shell.save(stored, (1, back), 0)
            shell.save_samples(
                [
                    TreeSample(4242, c.ended_at - c.duration_s, c.ended_at - 1, c.duration_s * 0.4)
                    for c in stored[:10]
                ]
            )
        tally.add(AiRecord(date, "copilot", "python", "completion", 50, 20, 80))
    shell.close()


def _median_walls(cases: dict[str, list[str]], env: dict[str, str]) -> dict[str, float]:
    """Median wall time of each case over interleaved rounds, so a busy spell hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, argv in cases.items():
            began = time.perf_counter()
            subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True)
            times[name].append(time.perf_counter() - began)
    return {name: statistics.median(values) for name, values in times.items()}


def test_report_wall_time_for_a_week_and_for_90_days(tmp_path: Path) -> None:
    home = tmp_path / "devtel-home"
    home.mkdir()
    _fill(home, dt.date.today())
    env = {
        **os.environ,
        "DEVTEL_HOME": str(home),
        "DEVTEL_CONFIG": str(tmp_path / "agent.toml"),
        "DEVTEL_POLICY": str(tmp_path / "policy.toml"),
        "DEVTEL_LEGACY_CONFIG": str(tmp_path / "legacy.json"),
    }
    agent = [sys.executable, "-m", "agent"]
    page = tmp_path / "r.html"
    cases = {
        "baseline: consent show": [*agent, "consent", "show"],
        "report --week": [*agent, "report", "--week"],
        "report --days 90": [*agent, "report", "--days", "90"],
        "report --days 90 --json": [*agent, "report", "--days", "90", "--json"],
        "report --days 90 --html": [*agent, "report", "--days", "90", "--html", str(page)],
    }
    figures = _median_walls(cases, env)
    baseline = figures["baseline: consent show"]
    print(
        json.dumps(
            {
                "data": f"{DAYS} days, {COMMANDS_PER_DAY} commands/day, shell store {SHELL_DAYS} days",
                "wall_s": {k: round(v, 3) for k, v in figures.items()},
                "ratio_to_baseline": {k: round(v / baseline, 2) for k, v in figures.items()},
                "page_bytes": page.stat().st_size,
            },
            indent=2,
        )
    )
    report = json.loads(
        subprocess.run(
            cases["report --days 90 --json"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    assert len(report["days"]) == DAYS and sum(g["runs"] for g in report["commands"]) == DAYS * 55
    # The figure for the notes: what a busy week's page looks like.
    week = tmp_path / "week.html"
    subprocess.run(
        [*agent, "report", "--week", "--html", str(week)], cwd=ROOT, env=env, check=True, capture_output=True
    )
    print(
        f"screenshot of a busy week's page: {chromium.screenshot(week, 'report/busy-week.png', height=1900)}"
    )
