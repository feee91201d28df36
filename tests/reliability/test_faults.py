"""Faults in the path from the agent to the database, each ending with the stored rows equal to
the agent's local truth: the receiver killed, MariaDB stopped, the agent killed, a week offline.

The agents run as real ``devtel-agent`` processes (their durable outbox, their sender, the
OpenTelemetry SDK encoders) against a real ``devtel-receiver serve`` process. Backoff is capped
at a second or two so the suite stays short; in the field the cap is backoff_max_seconds (300 s),
which bounds recovery the same way.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

from tests.reliability.conftest import compare, served_statuses, snapshot, stored_rows, wait_until_exact
from tests.support.mariadb import PrivateMariaDB
from tests.support.processes import create_connection, free_port, start_receiver

TODAY = dt.date.today()
OUTAGE_ENV = "DEVTEL_MARIADB_OUTAGE_SECONDS"  # the MariaDB case's outage; 120 unless set


def test_receiver_killed_and_restarted_during_a_day_of_exports(tmp_path: Path, install, record) -> None:
    db_url = f"sqlite:///{tmp_path / 'receiver.db'}"
    connection_id, key = create_connection(db_url, "receiver-kill")
    port = free_port()
    receiver = start_receiver(db_url, tmp_path, port=port)
    agent = install("kill.receiver", f"http://127.0.0.1:{port}", key)
    runner = agent.spawn("run")

    def stored() -> dict:
        return stored_rows(db_url, connection_id)

    try:
        recoveries = []
        for step in range(24):  # the day's snapshots, one every few collect intervals
            agent.save(snapshot(TODAY, step))
            if step in (5, 15):  # SIGKILL mid-stream, twice; down for a few of the agent's rounds
                receiver.stop(signal.SIGKILL)
                for down_step in (step + 1, step + 2, step + 3):
                    agent.save(snapshot(TODAY, down_step))
                    time.sleep(0.6)
                receiver = start_receiver(db_url, tmp_path, port=port)
                result, took = wait_until_exact(agent.truth, stored, timeout=60)
                assert result.exact, result
                recoveries.append(took)
            time.sleep(0.4)
        result, _ = wait_until_exact(agent.truth, stored, timeout=60)
        record(
            "receiver SIGKILL x2 during a day of exports",
            result,
            max(recoveries),
            f"24 snapshots of the day; the worst of {len(recoveries)} restarts",
        )
        assert result.exact, result
        assert agent.pending() == (0, 0)
    finally:
        runner.stop()
        receiver.stop()
    assert "Traceback" not in receiver.log()


def test_mariadb_stopped_for_two_minutes_agents_keep_sending(
    tmp_path: Path, install, record, private_mariadb: PrivateMariaDB
) -> None:
    outage = float(os.environ.get(OUTAGE_ENV, "120"))
    db_url = private_mariadb.url
    connection_id, key = create_connection(db_url, "mariadb-outage")
    receiver = start_receiver(db_url, tmp_path, extra_env={"DEVTEL_RETRY_AFTER_SECONDS": "1"})
    agents = [install(f"outage.{n}", receiver.url, key, backoff_max=5.0, interval=1.0) for n in range(3)]
    runners = [a.spawn("run") for a in agents]

    def truth() -> dict:
        return {k: v for a in agents for k, v in a.truth().items()}

    def stored() -> dict:
        return stored_rows(db_url, connection_id)

    try:
        for a in agents:
            a.save(snapshot(TODAY, 0, salt=a.developer))
        result, _ = wait_until_exact(truth, stored, timeout=60)
        assert result.exact, result
        private_mariadb.stop()
        started, step = time.monotonic(), 1
        while time.monotonic() - started < outage:  # the day goes on while the database is away
            for a in agents:
                a.save(snapshot(TODAY, step, salt=a.developer))
            step += 1
            time.sleep(outage / 12)
        statuses = served_statuses(receiver.url)
        private_mariadb.start()
        result, took = wait_until_exact(truth, stored, timeout=120)
        record(
            f"MariaDB stopped {outage:.0f}s, 3 agents sending",
            result,
            took,
            f"{statuses.get('503', 0):.0f} answers 503 during the outage, all retried",
        )
        assert result.exact, result
        assert statuses.get("503", 0) > 0
        assert set(statuses) <= {"200", "503"}, statuses
        assert all(a.pending() == (0, 0) for a in agents)
    finally:
        for r in runners:
            r.stop()
        receiver.stop()
    assert "Traceback" not in receiver.log()


def test_agent_killed_mid_send_delivers_the_rest_exactly_once(tmp_path: Path, install, record) -> None:
    db_url = f"sqlite:///{tmp_path / 'receiver.db'}"
    connection_id, key = create_connection(db_url, "agent-kill")
    port = free_port()
    agent = install("kill.agent", f"http://127.0.0.1:{port}", key)
    days = 60
    for n in range(days):
        agent.save(snapshot(TODAY - dt.timedelta(days=n), n % 9))
    queued = agent.cli("collect", "--days", str(days))  # nothing listens yet: all of it stays queued
    assert queued.returncode == 0, queued.stderr
    assert agent.pending()[0] >= 2 * days
    receiver = start_receiver(db_url, tmp_path, port=port)

    def stored() -> dict:
        return stored_rows(db_url, connection_id)

    kills = 0
    try:
        for threshold in (5, 20, 35):  # SIGKILL the sending agent three times, mid-queue
            sender = agent.spawn("flush")
            deadline = time.monotonic() + 60
            while len(stored()) < threshold and sender.process.poll() is None:
                assert time.monotonic() < deadline, "no progress"
                time.sleep(0.01)
            if sender.process.poll() is None:
                sender.stop(signal.SIGKILL)
                kills += 1
        restarted = time.monotonic()
        runner = agent.spawn("run")
        try:
            result, took = wait_until_exact(agent.truth, stored, timeout=90)
        finally:
            runner.stop()
        # Stored by the receiver but never acknowledged in the outbox: killed between the two.
        resent = served_statuses(receiver.url).get("200", 0) - agent.agent().outbox.status("receiver").sent
        record(
            f"agent SIGKILL x{kills} mid-send ({days}-day backlog)",
            result,
            took,
            f"{resent:.0f} payload(s) delivered twice (killed after the 200, before the ack), stored once",
        )
        assert result.exact, result
        assert kills >= 2
        assert agent.pending() == (0, 0)
        assert time.monotonic() - restarted < 90
    finally:
        receiver.stop()
    assert "Traceback" not in receiver.log()


def test_a_week_offline_accumulates_then_drains(tmp_path: Path, install, record) -> None:
    db_url = f"sqlite:///{tmp_path / 'receiver.db'}"
    connection_id, key = create_connection(db_url, "week-offline")
    port = free_port()
    agent = install("week.offline", f"http://127.0.0.1:{port}", key)
    local = agent.agent()
    week = [TODAY - dt.timedelta(days=n) for n in reversed(range(7))]
    rounds = 0
    for date in week:  # each day collected every few hours, every send refused: nobody listens
        for step in (2, 5, 8, 11):
            agent.save(snapshot(date, step))
            local.enqueue(local.planned([local.day(date)]))
            local.flush(timeout=5)
            rounds += 1
    pending, _ = agent.pending()
    outbox_kib = local.outbox.size_bytes() / 1024
    assert pending == 2 * len(week), "a newer snapshot of a day must replace the unsent one"
    assert compare(agent.truth(), stored_rows(db_url, connection_id)).lost  # nothing arrived yet
    receiver = start_receiver(db_url, tmp_path, port=port)
    back = time.monotonic()
    runner = agent.spawn("run")
    try:
        result, _ = wait_until_exact(agent.truth, lambda: stored_rows(db_url, connection_id), timeout=90)
        took = time.monotonic() - back
    finally:
        runner.stop()
        receiver.stop()
    record(
        "a week offline, then back",
        result,
        took,
        f"{rounds} offline rounds -> {pending} queued day payloads, {outbox_kib:.0f} KiB outbox",
    )
    assert result.exact, result
    assert agent.pending() == (0, 0)
    assert "Traceback" not in receiver.log()
