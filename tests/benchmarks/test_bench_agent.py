"""The agent's own figures (idle cost, outbox growth offline, drain time) under ``make bench``.

Windows are shorter than the documented runs so ``make bench`` stays quick; set
``DEVTEL_BENCH_IDLE_SECONDS=600`` and ``DEVTEL_BENCH_DOWN_SECONDS=120`` for the figures in docs/agent.md.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.benchmarks import bench_agent

pytestmark = pytest.mark.benchmark


def test_idle_run_cost() -> None:
    figures = bench_agent.idle(float(os.environ.get("DEVTEL_BENCH_IDLE_SECONDS", "120")))
    print(json.dumps(figures))
    assert figures["requests_received"] > 0


def test_outbox_after_thirty_offline_days() -> None:
    figures = bench_agent.offline(days=30, snapshots=12)
    print(json.dumps(figures))
    assert figures["left_after_flush"] == 0
    assert figures["pending_items"] < 30 * 12  # newer snapshots superseded older unsent ones


def test_receiver_back_to_empty_outbox() -> None:
    figures = bench_agent.drain(float(os.environ.get("DEVTEL_BENCH_DOWN_SECONDS", "30")), days=30)
    print(json.dumps(figures))
    assert figures["failures_left"] == 0 and figures["delivered_requests"] > 0


def test_fixed_key_requeue_to_empty_outbox() -> None:
    figures = bench_agent.requeue(days=30)
    print(json.dumps(figures))
    assert figures["left"] == 0 and figures["delivered_requests"] == figures["rejected_items"] > 0


def test_idle_run_against_the_tree_before_the_service_work(tmp_path) -> None:
    """Side by side with the agent as of 4ecc936 (before issue 20), or DEVTEL_BENCH_BASELINE_COMMIT."""
    commit = os.environ.get("DEVTEL_BENCH_BASELINE_COMMIT", "4ecc936")
    archive = subprocess.run(["git", "-C", str(bench_agent.REPO), "archive", commit], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"no git history to take {commit} from: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive.stdout, check=True)
    figures = bench_agent.idle_pair(tmp_path, float(os.environ.get("DEVTEL_BENCH_IDLE_SECONDS", "120")))
    print(json.dumps(figures))
    assert figures["rss_max_ratio_after_before"] > 0
