"""Failures are loud and recoverable: unreadable outbox rows, damaged stores, the kill switches
under a real `devtel-agent run`, and the privacy of every file the agent creates."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.cli import main
from agent.pipeline import Agent
from agent.store import DayStore
from tests.agent.conftest import otlp_sink, sample_day
from tests.agent.receiver import gauge_points
from tests.support.processes import ROOT

TODAY = dt.date.today()
QUIET = "[relay]\nenabled = false\n[shell]\nenabled = false\n"  # no fixed ports, no sampler


def _bad_rows(home: Path, sink: str) -> None:
    """Rows no agent would write: an unknown signal, an unknown level, a text body."""
    with sqlite3.connect(home / "outbox.db") as db:
        db.executemany(
            "INSERT INTO items (sink, signal, kind, key, level, body, created_at) VALUES (?,?,?,?,?,?,?)",
            [
                (sink, "traces", "day", "day:2020-01-01", "detailed", b"x", 1.0),
                (sink, "metrics", "day", "day:2020-01-02", "superuser", b"x", 1.0),
                (sink, "metrics", "day", "day:2020-01-03", "detailed", "text, not bytes", 1.0),
            ],
        )


@contextmanager
def _running(extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """A real `devtel-agent run` on the test's environment; stopped with SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agent", "run"],
        cwd=ROOT,
        env={**os.environ, **(extra_env or {})},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_unreadable_rows_are_moved_aside_and_the_rest_is_sent(env, receiver, write_config, capsys) -> None:
    write_config(otlp_sink(receiver.url))
    home = Path(env["DEVTEL_HOME"])
    DayStore(home).save(sample_day(TODAY, commits=5))
    main(["consent", "detailed"])  # before the bad rows: opting in or out purges unknown levels
    _bad_rows(home, "main")
    capsys.readouterr()
    assert main(["collect"]) == 0
    assert [p for p, _ in gauge_points(receiver.ok(), "devtel.git.commits")] == [5]
    capsys.readouterr()
    main(["status", "--json"])
    (sink,) = json.loads(capsys.readouterr().out)["sinks"]
    assert sink["pending"] == 0 and sink["rejected"] == []
    reasons = sorted(u["reason"] for u in sink["unreadable"])
    assert reasons == [
        "unreadable row: body is str, not stored bytes",
        "unreadable row: unknown consent level 'superuser'",
        "unreadable row: unknown signal 'traces'",
    ]


def test_the_run_sender_gets_past_bad_rows_and_stays_alive(env, receiver, write_config, capsys) -> None:
    """Under a real `run`: bad rows ahead of good ones; the good ones arrive and the process lives."""
    write_config(otlp_sink(receiver.url) + QUIET)
    home = Path(env["DEVTEL_HOME"])
    DayStore(home).save(sample_day(TODAY, commits=2))
    Agent(os.environ).outbox.put("main", "logs", "x", "x:1", "base", b"")  # the sink table exists
    main(["consent", "detailed"])
    _bad_rows(home, "main")
    with _running() as process:
        deadline = time.monotonic() + 60
        while not gauge_points(receiver.ok(), "devtel.git.commits") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert [p for p, _ in gauge_points(receiver.ok(), "devtel.git.commits")] == [2]
    assert len(Agent(os.environ).outbox.status("main").rejected) == 3


def test_kill_switches_hold_under_run(env, receiver, write_config, tmp_path) -> None:
    """Each switch set for a real `run` that would otherwise send: nothing arrives. A control
    run without a switch, on the same setup, does send (so the quiet runs prove something)."""
    fast = "[agent]\ninterval_seconds = 0.1\npoll_seconds = 0.1\n"
    write_config(otlp_sink(receiver.url) + QUIET + fast)
    DayStore(Path(env["DEVTEL_HOME"])).save(sample_day(TODAY))
    main(["consent", "detailed"])  # queues consent.granted: the senders hold it back at send time
    switches = {"DO_NOT_TRACK": "1", "DEVTEL_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "true"}
    with (
        _running({"DO_NOT_TRACK": "1"}),
        _running({"DEVTEL_DISABLE_TELEMETRY": "true"}),
        _running({"OTEL_SDK_DISABLED": "true"}),
    ):
        time.sleep(3)  # 30 collect rounds and sender polls each
    assert receiver.requests == [], switches
    with _running():
        assert receiver.arrived.wait(60)


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as handle:
        handle.truncate(size)


def test_damaged_stores_are_moved_aside_once_and_the_agent_starts_clean(
    env, receiver, write_config, capsys
) -> None:
    write_config(otlp_sink(receiver.url))
    home = Path(env["DEVTEL_HOME"])
    DayStore(home).save(sample_day(TODAY))
    main(["consent", "detailed"])
    receiver.answers.extend([(503, {})] * 50)  # keep items in the outbox
    main(["collect"])
    outbox_size = (home / "outbox.db").stat().st_size
    _truncate(home / "outbox.db", outbox_size // 2)
    _truncate(home / "days.db", 50)
    _truncate(home / "state.json", 20)
    run = [sys.executable, "-m", "agent", "status", "--json"]
    first = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    damaged = [line for line in first.stderr.splitlines() if "was damaged" in line]
    assert sorted(line.split(" was damaged")[0].rsplit("/", 1)[1] for line in damaged) == [
        "days.db",
        "outbox.db",
        "state.json",
    ]
    assert json.loads(first.stdout)["consent"] == {"level": "off", "source": "user"}
    second = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0 and "damaged" not in second.stderr
    for name in ("outbox.db", "days.db", "state.json"):
        assert len(list(home.glob(f"{name}.corrupt-*Z"))) == 1, name


def test_an_outbox_damaged_under_run_is_replaced_once_and_the_day_sent_again(
    env, receiver, write_config
) -> None:
    fast = "[agent]\ninterval_seconds = 0.2\npoll_seconds = 0.1\n"
    write_config(otlp_sink(receiver.url) + QUIET + fast)
    home = Path(env["DEVTEL_HOME"])
    DayStore(home).save(sample_day(TODAY, commits=4))
    main(["consent", "detailed"])

    def commits() -> list[float]:
        return [p for p, _ in gauge_points(receiver.ok(), "devtel.git.commits")]

    def wait_for(check) -> None:
        deadline = time.monotonic() + 60
        while not check() and time.monotonic() < deadline:
            time.sleep(0.05)

    with _running() as process:
        wait_for(lambda: commits() == [4])
        _truncate(home / "outbox.db", 50)
        wait_for(lambda: len(commits()) == 2)
        assert process.poll() is None
    assert commits() == [4, 4]  # the day, sent again as the same full snapshot
    assert len(list(home.glob("outbox.db.corrupt-*Z"))) == 1
    assert process.stderr is not None and process.stderr.read().count("was damaged") == 1


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


def test_every_file_is_private_even_in_a_shared_directory(env, receiver, write_config, tmp_path) -> None:
    """A world-writable DEVTEL_HOME that exists already, a permissive umask: still 0600 / 0700."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    home = shared / "devtel" / "state"
    os.environ["DEVTEL_HOME"] = str(home)
    write_config(otlp_sink(receiver.url))
    old = os.umask(0o022)
    try:
        agent = Agent(os.environ)
        DayStore(home).save(sample_day(TODAY))
        agent.set_consent("detailed")
        agent.enqueue(agent.planned([agent.day(TODAY)]))
        assert agent.flush()["main"].sent > 0
    finally:
        os.umask(old)
    modes = _modes(shared / "devtel")
    assert {"state/outbox.db", "state/days.db", "state/state.json", "state/sent"} <= set(modes)
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (shared / "devtel" / name).is_dir() else 0o600)
    }
    assert wrong == {}
    assert stat.S_IMODE(shared.stat().st_mode) == 0o777  # the user's shared directory is left alone


def test_a_rejection_followed_by_a_retry_is_not_everything_rejected(env, receiver, write_config) -> None:
    write_config(otlp_sink(receiver.url))
    receiver.answers.extend([(400, {}), (503, {})])  # one refused, the next to be retried
    assert main(["collect"]) == 0
    receiver.answers.extend([(401, {})] * 10)
    assert main(["requeue"]) == 0 and main(["flush"]) == 6  # now every item is refused
