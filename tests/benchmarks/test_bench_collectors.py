"""Figures for the collectors: one day over 50 repositories, history length, hourly cost.

Run: ``python -m pytest tests/benchmarks/test_bench_collectors.py -s -m benchmark``.
Every repository is real, made with ``git fast-import`` and checked out.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.collectors import CollectorSettings, collect_day
from agent.collectors import git as gitcollector
from tests.agent.collectors.gitrepo import DEV, build_history, git

pytestmark = pytest.mark.benchmark

REPOSITORIES = 50
COMMITS_PER_REPOSITORY = 300
HOURLY_RUNS = 6
WORKTREE = Path(__file__).resolve().parents[2]


def settings(root: Path, state: Path) -> CollectorSettings:
    return CollectorSettings(
        author_emails=(DEV,), hash_commit_id=str, roots=(root,), state_path=state, timezone=dt.UTC
    )


@pytest.fixture(scope="module")
def now() -> dt.datetime:
    # Mid-day, so "today" holds a full set of commits whatever the wall clock says.
    return dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(23, 0), dt.UTC)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, now: dt.datetime) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    for n in range(REPOSITORIES):
        repo = build_history(
            root / f"group{n % 5}" / f"repo{n}",
            COMMITS_PER_REPOSITORY,
            now - dt.timedelta(minutes=30),
            label=f"repo{n} ",
        )
        git(repo, "reset", "-q", "--hard")  # a real working tree for the file scan
        # Checked out an hour ago, as a developer's trees are, not in the last second.
        earlier = time.time() - 3600
        for path in repo.rglob("*.txt"):
            os.utime(path, (earlier, earlier))
    return root


def timed(call, *args, **kwargs) -> float:
    start = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - start


def test_one_day_over_50_repositories(fleet: Path, now: dt.datetime, tmp_path: Path) -> None:
    state = tmp_path / "activity.db"
    cold = timed(collect_day, now.date(), settings(fleet, state), now=now)
    warm = [timed(collect_day, now.date(), settings(fleet, state), now=now) for _ in range(3)]
    report = collect_day(now.date(), settings(fleet, state), now=now)
    print(
        f"\n[collectors] one day, {REPOSITORIES} repos x {COMMITS_PER_REPOSITORY} commits "
        f"({report.to_devlake()['git_activity']['total_commits']} of the day's commits are the developer's): "
        f"first run {cold:.2f} s, later runs (branches unchanged) median {statistics.median(warm):.2f} s"
    )
    assert len(report.repositories) == REPOSITORIES


def test_history_length_does_not_drive_the_cost(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The last commit at 16:30, one every 10 minutes: in both repositories the measured day
    # holds exactly 100 commits (00:00 .. 16:30), so only the length of history differs.
    last = dt.datetime(2026, 6, 15, 16, 30, tzinfo=dt.UTC)
    start = int(dt.datetime.combine(last.date(), dt.time(0), dt.UTC).timestamp())
    whole, walk = {}, {}
    for count in (100, 100_000):
        root = tmp_path_factory.mktemp(f"history{count}")
        repo = build_history(root / "repo", count, last)
        # A fresh state file each time: measure the git walk, not the already-seen cache.
        whole[count] = statistics.median(
            timed(collect_day, last.date(), settings(root, root / f"state{i}.db")) for i in range(5)
        )
        handle = gitcollector.open_repository(repo)
        state = gitcollector.branch_state(handle)
        walk[count] = statistics.median(
            timed(gitcollector.day_activity, handle, state, start, start + 86_400, (DEV,)) for _ in range(9)
        )
    for label, figures in (("collect_day", whole), ("git walk alone", walk)):
        print(
            f"\n[collectors] {label}, one day of a 100-commit repo {figures[100] * 1000:.0f} ms, "
            f"of a 100k-commit repo {figures[100_000] * 1000:.0f} ms: "
            f"ratio {figures[100_000] / figures[100]:.2f} (goal <= 2)"
        )
    # For scale: what one collection would cost if it walked the whole history.
    unbounded = timed(gitcollector.day_activity, handle, state, 0, start + 86_400, (DEV,))
    print(f"[collectors] the same walk over all 100k commits: {unbounded * 1000:.0f} ms")


HOURLY = r"""
import datetime as dt, json, os, resource, subprocess, sys
from pathlib import Path
import psutil
from agent.collectors import CollectorSettings, DEFAULT_TOOL_PATTERNS, collect_day
root, state, runs = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
settings = CollectorSettings(author_emails=("dev@example.com",), hash_commit_id=str, roots=(root,),
                             state_path=state, tool_patterns=DEFAULT_TOOL_PATTERNS)
me = psutil.Process()
repos = sorted(p.parent for p in root.glob("*/*/.git"))
env = dict(os.environ, GIT_AUTHOR_NAME="dev", GIT_AUTHOR_EMAIL="dev@example.com",
           GIT_COMMITTER_NAME="dev", GIT_COMMITTER_EMAIL="dev@example.com")
cpu = []
for hour in range(runs):
    # Each "hour" the developer edits a file in one repository and commits in another.
    (repos[hour] / "edited.txt").write_text(f"hour {hour}\n")
    committed = repos[-1 - hour]
    (committed / "work.txt").write_text(f"hour {hour}\n")
    for step in (["add", "work.txt"], ["commit", "-qm", "work"]):
        subprocess.run(["git", "-C", str(committed), *step], env=env, check=True)
    before = me.cpu_times()
    children_before = before.children_user + before.children_system
    collect_day(dt.datetime.now().date(), settings)
    after = me.cpu_times()
    own = (after.user + after.system) - (before.user + before.system)
    kids = (after.children_user + after.children_system) - children_before
    cpu.append(own + kids)
# VmHWM is this process image's own peak; ru_maxrss would also count the forked parent's.
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
status = Path("/proc/self/status")
if status.exists():
    peak = next(int(l.split()[1]) for l in status.read_text().splitlines() if l.startswith("VmHWM:"))
print(json.dumps({"cpu": cpu, "max_rss_kb": peak}))
"""


def test_hourly_collection_cpu_and_memory(fleet: Path, tmp_path: Path) -> None:
    """Hourly runs compressed back to back; CPU per run / 3600 s is the share of one core."""
    out = subprocess.run(
        [sys.executable, "-c", HOURLY, str(fleet), str(tmp_path / "activity.db"), str(HOURLY_RUNS)],
        env=dict(os.environ, PYTHONPATH=str(WORKTREE)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    later = figures["cpu"][1:]
    share = statistics.mean(later) / 3600 * 100
    print(
        f"\n[collectors] hourly run over {REPOSITORIES} repos: CPU first {figures['cpu'][0]:.2f} s, "
        f"later median {statistics.median(later):.2f} s (incl. git children) -> {share:.3f}% of one core "
        f"(goal < 0.5%); peak RSS {figures['max_rss_kb'] / 1024:.0f} MB (goal < 60 MB)"
    )
