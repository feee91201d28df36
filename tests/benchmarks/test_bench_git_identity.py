"""The cost of per-repository identity: one day over 50 repositories, this tree against the last
release before it (4ecc936, extracted with ``git archive``), measured in the same run.

Run: ``python -m pytest tests/benchmarks/test_bench_git_identity.py -s -m benchmark``.
Each collector runs in its own process over the same real repositories (``fleet`` from
test_bench_collectors.py), with its own fresh state file: first run, then three later runs with
no branch moved (median), then one run after a commit in every repository.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from tests.agent.collectors.gitrepo import DEV, commit
from tests.benchmarks.test_bench_collectors import WORKTREE, fleet, now  # noqa: F401  (fixtures)

pytestmark = pytest.mark.benchmark

BASELINE = "4ecc936"

RUN = r"""
import datetime as dt, json, statistics, sys, time
from pathlib import Path
from agent.collectors import CollectorSettings, collect_day
root, state, phase = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[4]
day = dt.date.fromisoformat(sys.argv[3])
settings = CollectorSettings(author_emails=("dev@example.com",), hash_commit_id=str, roots=(root,),
                             state_path=state, timezone=dt.UTC, tool_patterns={})
def timed():
    start = time.perf_counter()
    report = collect_day(day, settings)
    return time.perf_counter() - start, report
runs = [timed() for _ in range(3 if phase == "unchanged" else 1)]
report = runs[-1][1].to_devlake()["git_activity"]
print(json.dumps({"seconds": statistics.median(r[0] for r in runs), "commits": report["total_commits"]}))
"""


def baseline_tree(tmp: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(WORKTREE), "archive", BASELINE], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tmp, filter="data")
    return tmp


def measure(tree: Path, root: Path, state: Path, day: dt.date, phase: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree), GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(root), str(state), day.isoformat(), phase],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_identity_per_repository_costs_against_the_baseline(
    fleet: Path,  # noqa: F811
    now: dt.datetime,  # noqa: F811
    tmp_path: Path,
) -> None:
    trees = {"before (4ecc936)": baseline_tree(tmp_path / "baseline"), "after": WORKTREE}
    states = {label: tmp_path / f"{n}.db" for n, label in enumerate(trees)}
    figures: dict[str, dict[str, dict[str, float]]] = {label: {} for label in trees}
    for phase in ("cold", "unchanged"):
        for label, tree in trees.items():
            figures[label][phase] = measure(tree, fleet, states[label], now.date(), phase)
    for repo in sorted(p.parent for p in fleet.rglob(".git")):
        commit(repo, now - dt.timedelta(minutes=5), {"bench-moved.txt": "moved\n"}, email=DEV)
    for label, tree in trees.items():
        figures[label]["moved"] = measure(tree, fleet, states[label], now.date(), "moved")
    before, after = figures["before (4ecc936)"], figures["after"]
    for phase in ("cold", "unchanged", "moved"):
        old, new = before[phase], after[phase]
        print(
            f"\n[git identity] one day over 50 repositories, {phase}: before {old['seconds']:.2f} s"
            f" ({old['commits']:.0f} commits), after {new['seconds']:.2f} s"
            f" ({new['commits']:.0f} commits): ratio {new['seconds'] / old['seconds']:.2f}"
        )
    # The fleet's commits are authored and committed by their authors: both count alike.
    assert after["moved"]["commits"] == before["moved"]["commits"]
