"""Measured figures for the agent (not collected by pytest; run by hand):

    python -m tests.benchmarks.bench_agent idle --seconds 600     # RSS and CPU of an idle `run`
    python -m tests.benchmarks.bench_agent offline --days 30      # outbox size after 30 offline days
    python -m tests.benchmarks.bench_agent drain --down 120       # receiver back -> empty outbox, under `run`
    python -m tests.benchmarks.bench_agent idle-pair --baseline DIR  # idle `run`: this tree and another
    python -m tests.benchmarks.bench_agent requeue --days 30      # key fixed -> requeue + flush -> empty

Each prints one JSON line. Everything runs against the real agent and a real local receiver.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import psutil

from agent.pipeline import Agent
from agent.shell.spool import ensure_spool
from agent.store import DayStore
from tests.agent.conftest import sample_day
from tests.agent.receiver import Receiver

REPO = Path(__file__).resolve().parents[2]


def _home(root: Path, sink_url: str, extra: str = "") -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "DEVTEL_HOME": str(root / "home"),
        "DEVTEL_CONFIG": str(root / "agent.toml"),
        "DEVTEL_POLICY": str(root / "policy.toml"),
        "DEVTEL_LEGACY_CONFIG": str(root / "none.json"),
    }
    (root / "agent.toml").write_text(f'[sinks.main]\ntype = "otlp"\nendpoint = "{sink_url}"\n{extra}')
    os.environ.update(env)
    agent = Agent(env)
    agent.set_consent("detailed")
    DayStore(agent.settings.home).save(sample_day(dt.date.today()))
    ensure_spool(agent.settings.home)  # the shell hook installed: `run` samples long commands too
    return env


def _spawn(env: dict[str, str], source: Path = REPO) -> subprocess.Popen[bytes]:
    """`devtel-agent run` from ``source`` (this tree, or a baseline checkout to compare with)."""
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run"],
        cwd=source,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def idle(seconds: float) -> dict[str, object]:
    """Default intervals (collect every 300 s, poll every 30 s), one local sink answering 200."""
    receiver = Receiver().start()
    with tempfile.TemporaryDirectory() as tmp:
        env = _home(Path(tmp), receiver.url)
        proc = _spawn(env)
        ps = psutil.Process(proc.pid)
        time.sleep(5)  # start-up: imports and the first round
        cpu0 = sum(ps.cpu_times()[:2])
        rss = []
        start = time.time()
        while time.time() - start < seconds:
            rss.append(ps.memory_info().rss)
            time.sleep(1)
        cpu = sum(ps.cpu_times()[:2]) - cpu0
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    receiver.stop()
    return {
        "figure": "idle run",
        "window_s": seconds,
        "startup_cpu_s": round(cpu0, 2),
        "idle_cpu_s": round(cpu, 3),
        "idle_cpu_pct": round(100 * cpu / seconds, 4),
        "rss_mib_min": round(min(rss) / 2**20, 1),
        "rss_mib_max": round(max(rss) / 2**20, 1),
        "requests_received": len(receiver.requests),
    }


def idle_pair(baseline: Path, seconds: float) -> dict[str, object]:
    """This tree's idle `run` and ``baseline``'s, started together with the same config and
    sampled in the same seconds, so a busy shared machine weighs on both alike. The local relay
    is off in both (two agents cannot both hold its ports)."""
    receiver = Receiver().start()
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"after": REPO, "before": baseline}
        envs = {}
        for name, source in sources.items():  # each tree sets up its own home: the formats differ
            (Path(tmp) / name).mkdir()
            setup = (
                "import json, sys; from pathlib import Path; from tests.benchmarks.bench_agent import _home; "
            )
            setup += "print(json.dumps(_home(Path(sys.argv[1]), sys.argv[2], sys.argv[3])))"
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    setup,
                    str(Path(tmp) / name),
                    receiver.url,
                    "[relay]\nenabled = false\n",
                ],
                cwd=source,
                capture_output=True,
                text=True,
                check=True,
            )
            envs[name] = json.loads(done.stdout)
        procs = {name: _spawn(envs[name], source) for name, source in sources.items()}
        ps = {name: psutil.Process(proc.pid) for name, proc in procs.items()}
        time.sleep(5)  # start-up: imports and the first round
        cpu0 = {name: sum(p.cpu_times()[:2]) for name, p in ps.items()}
        rss: dict[str, list[int]] = {name: [] for name in ps}
        start = time.time()
        while time.time() - start < seconds:
            for name, p in ps.items():
                rss[name].append(p.memory_info().rss)
            time.sleep(1)
        cpu = {name: sum(p.cpu_times()[:2]) - cpu0[name] for name, p in ps.items()}
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    receiver.stop()
    figures: dict[str, object] = {"figure": "idle run, side by side", "window_s": seconds}
    for name in ps:
        figures[name] = {
            "startup_cpu_s": round(cpu0[name], 2),
            "idle_cpu_s": round(cpu[name], 3),
            "rss_mib_min": round(min(rss[name]) / 2**20, 1),
            "rss_mib_max": round(max(rss[name]) / 2**20, 1),
        }
    figures["rss_max_ratio_after_before"] = round(max(rss["after"]) / max(rss["before"]), 3)
    figures["idle_cpu_ratio_after_before"] = round(cpu["after"] / cpu["before"], 2) if cpu["before"] else None
    return figures


def requeue(days: int) -> dict[str, object]:
    """A wrong key: every item of ``days`` days is rejected with 401. Then the key is fixed (the
    receiver answers 200) and the user runs `devtel-agent requeue` and `devtel-agent flush`:
    measured from the first command's start to an empty outbox."""
    receiver = Receiver(answers=deque([(401, {})] * 10**6)).start()
    with tempfile.TemporaryDirectory() as tmp:
        env = _home(Path(tmp), receiver.url)
        agent = Agent(env)
        for n in range(days):
            agent.store.save(sample_day(dt.date.today() - dt.timedelta(days=n), commits=n + 1))
        agent.enqueue(agent.planned(agent.day(dt.date.today() - dt.timedelta(days=n)) for n in range(days)))
        agent.flush()
        rejected = len(agent.outbox.status("main").rejected)
        receiver.answers.clear()
        start = time.perf_counter()
        for command in ("requeue", "flush"):
            subprocess.run(
                [sys.executable, "-m", "agent", command], cwd=REPO, env=env, check=True, capture_output=True
            )
        elapsed = time.perf_counter() - start
        status = agent.outbox.status("main")
    receiver.stop()
    return {
        "figure": "key fixed -> requeue + flush -> empty outbox",
        "days": days,
        "rejected_items": rejected,
        "seconds_to_empty": round(elapsed, 2),
        "left": status.pending + len(status.rejected),
        "delivered_requests": len(receiver.ok()),
    }


def offline(days: int, snapshots: int) -> dict[str, object]:
    """``days`` days offline, each day exported ``snapshots`` times (as `run` would as it grows)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _home(Path(tmp), "http://127.0.0.1:9")
        agent = Agent(env)
        first = dt.date.today() - dt.timedelta(days=days - 1)
        for n in range(days):
            date = first + dt.timedelta(days=n)
            for snap in range(snapshots):
                agent.store.save(sample_day(date, commits=snap + 1))
                agent.enqueue(agent.planned([agent.day(date)]))
            agent.flush(timeout=5)  # every attempt fails: the receiver is away
        status, size = agent.outbox.status("main"), agent.outbox.size_bytes()
        receiver = Receiver().start()  # back online: the same queue, now to a live receiver
        sink = agent.sinks[0]
        agent.sinks[0] = type(sink)(
            dataclasses.replace(
                sink.config,
                endpoints={"metrics": f"{receiver.url}/v1/metrics", "logs": f"{receiver.url}/v1/logs"},
            )
        )
        start = time.perf_counter()
        agent.flush()
        flush_seconds = time.perf_counter() - start
        receiver.stop()
        return {
            "figure": "outbox after offline days",
            "days": days,
            "snapshots_per_day": snapshots,
            "pending_items": status.pending,
            "pending_payload_bytes": status.pending_bytes,
            "outbox_file_bytes": size,
            "flush_to_empty_s": round(flush_seconds, 3),
            "left_after_flush": agent.outbox.status("main").pending,
            "requests": len(receiver.ok()),
        }


def drain(down: float, days: int) -> dict[str, object]:
    """`run` with default backoff (1 s doubling to 300 s); the receiver answers 503 for ``down``
    seconds, then 200. Measures from the switch to an empty outbox."""
    receiver = Receiver(answers=deque([(503, {})] * 10**6)).start()
    with tempfile.TemporaryDirectory() as tmp:
        env = _home(Path(tmp), receiver.url)
        agent = Agent(env)
        for n in range(days):
            agent.store.save(sample_day(dt.date.today() - dt.timedelta(days=n)))
        agent.enqueue(agent.planned(agent.day(dt.date.today() - dt.timedelta(days=n)) for n in range(days)))
        proc = _spawn(env)
        time.sleep(down)
        receiver.answers.clear()
        back = time.time()
        while agent.outbox.status("main").pending and time.time() - back < 900:
            time.sleep(0.2)
        elapsed = time.time() - back
        failures = agent.outbox.status("main").failures
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    receiver.stop()
    return {
        "figure": "receiver back -> empty outbox",
        "down_s": down,
        "days_queued": days,
        "seconds_to_empty": round(elapsed, 1),
        "failures_left": failures,
        "delivered_requests": len(receiver.ok()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="figure", required=True)
    sub.add_parser("idle").add_argument("--seconds", type=float, default=600)
    off = sub.add_parser("offline")
    off.add_argument("--days", type=int, default=30)
    off.add_argument("--snapshots", type=int, default=12)
    dr = sub.add_parser("drain")
    dr.add_argument("--down", type=float, default=120)
    dr.add_argument("--days", type=int, default=30)
    pair = sub.add_parser("idle-pair")
    pair.add_argument("--baseline", type=Path, required=True, help="a checkout to compare with")
    pair.add_argument("--seconds", type=float, default=600)
    sub.add_parser("requeue").add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    if args.figure == "idle":
        result = idle(args.seconds)
    elif args.figure == "idle-pair":
        result = idle_pair(args.baseline, args.seconds)
    elif args.figure == "requeue":
        result = requeue(args.days)
    elif args.figure == "offline":
        result = offline(args.days, args.snapshots)
    else:
        result = drain(args.down, args.days)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
