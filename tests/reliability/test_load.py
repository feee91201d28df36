"""Load: 200 agents post a day of snapshots at once to one receiver on MariaDB.

Each simulated agent is the real agent pipeline (its own DEVTEL_HOME, durable outbox, SDK
encoding and ``flush_sink``, honouring backoff and Retry-After), run in a thread of this process:
200 agent processes would measure the machine's process start-up, not the receiver. The receiver
is told to shed load early (DEVTEL_MAX_PENDING_WRITES), so the deliberate 429s happen and are retried.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agent.pipeline import Agent
from agent.sender import flush_sink
from tests.reliability.conftest import Install, served_statuses, snapshot, stored_rows, wait_until_exact
from tests.support.processes import create_connection, start_receiver

AGENTS = 200
SNAPSHOTS = (1, 4, 7, 10)  # the day as it stands at 09:00, 12:00, 15:00 and 18:00
TODAY = dt.date.today()


def _drain(agent: Agent, timeout: float = 240) -> None:
    """What the agent's sender loop does: send when due, wait out the backoff, until nothing is left."""
    sink, stop = agent.sinks[0], threading.Event()
    name = sink.config.name
    deadline = time.monotonic() + timeout
    while agent.outbox.status(name).pending and time.monotonic() < deadline:
        flush_sink(sink, agent.outbox, agent.backoff, may_send=agent.may_send, on_ack=agent.on_ack, stop=stop)
        _, not_before = agent.outbox.failures(name)
        time.sleep(max(0.0, not_before - time.time()))


def _a_day_of_snapshots(install: Install) -> None:
    agent = install.agent()
    for step in SNAPSHOTS:
        install.save(snapshot(TODAY, step, salt=install.developer))
        agent.enqueue(agent.planned([agent.day(TODAY)]))
        _drain(agent)


def test_200_agents_post_a_day_of_snapshots_concurrently(
    tmp_path: Path, fresh_mysql_url: str, install, record
) -> None:
    connection_id, key = create_connection(fresh_mysql_url, "load")
    receiver = start_receiver(
        fresh_mysql_url,
        tmp_path,
        extra_env={"DEVTEL_MAX_PENDING_WRITES": "4", "DEVTEL_RETRY_AFTER_SECONDS": "1"},
    )
    try:
        installs = [install(f"load.{n:03d}", receiver.url, key, backoff_max=2.0) for n in range(AGENTS)]
        started = time.monotonic()
        with ThreadPoolExecutor(AGENTS) as pool:
            list(pool.map(_a_day_of_snapshots, installs))
        elapsed = time.monotonic() - started

        def truth() -> dict:
            return {k: v for i in installs for k, v in i.truth().items()}

        result, _ = wait_until_exact(truth, lambda: stored_rows(fresh_mysql_url, connection_id), timeout=30)
        statuses = served_statuses(receiver.url)
        served = sum(statuses.values())
        record(
            f"load: {AGENTS} agents x {len(SNAPSHOTS)} snapshots, concurrently",
            result,
            elapsed,
            f"{served:.0f} requests ({served / elapsed:.0f}/s), "
            f"{statuses.get('429', 0):.0f} x 429 + {statuses.get('503', 0):.0f} x 503 retried; "
            "time = until all drained",
        )
        assert result.exact, result
        assert set(statuses) <= {"200", "429", "503"}, statuses
        assert statuses.get("429", 0) > 0, "the receiver was meant to shed load"
        assert all(i.pending() == (0, 0) for i in installs)
    finally:
        receiver.stop()
    assert "Traceback" not in receiver.log()
