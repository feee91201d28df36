"""The durable outbox and its sender: nothing lost, nothing doubled, nothing stuck."""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent import contract as C
from agent.cli import main
from agent.outbox import Outbox
from agent.pipeline import Agent
from agent.runner import Rounds, collect_round
from agent.sender import Backoff, flush_sink
from agent.store import DayStore
from tests.agent.conftest import otlp_sink, sample_day
from tests.agent.receiver import Receiver, gauge_points

TODAY = dt.date.today()


def _store(env: dict[str, str], *days: dt.date, commits: int = 3) -> None:
    Path(env["DEVTEL_HOME"]).mkdir(parents=True, exist_ok=True)
    for day in days:
        DayStore(Path(env["DEVTEL_HOME"])).save(sample_day(day, commits=commits))


def _commit_points(receiver: Receiver) -> list[tuple[float, str]]:
    return sorted((v, a[C.ATTR_DATE]) for v, a in gauge_points(receiver.ok(), C.M_COMMITS))


def test_receiver_down_then_up_every_day_arrives_once(env, receiver, write_config) -> None:
    write_config(otlp_sink(receiver.url))
    main(["consent", "detailed"])
    days = [TODAY - dt.timedelta(days=n) for n in range(5)]
    receiver.answers.extend([(503, {"Retry-After": "0"})] * 50)
    for n, day in enumerate(days):
        _store(env, day)
        main(["collect", "--date", day.isoformat()])  # each export fails: the receiver is down
        assert not receiver.ok(), n
    receiver.answers.clear()
    assert main(["flush"]) == 0
    assert _commit_points(receiver) == sorted((3, d.isoformat()) for d in days)
    assert Agent(os.environ).outbox.status("main").pending == 0


def test_newer_snapshot_of_a_day_supersedes_the_unsent_one(env, receiver, write_config, agent) -> None:
    write_config(otlp_sink(receiver.url))
    main(["consent", "detailed"])
    receiver.answers.extend([(503, {})] * 50)
    for commits in (1, 2, 3):
        _store(env, TODAY, commits=commits)
        main(["collect"])
    status = agent().outbox.status("main")
    assert status.pending == 6  # metrics + logs for: first_seen, heartbeat, the day, the agent, consent
    receiver.answers.clear()
    main(["flush"])
    assert _commit_points(receiver) == [(3, TODAY.isoformat())]


def test_rejection_is_moved_aside_with_reason_and_queue_goes_on(env, receiver, write_config, agent, capsys):
    write_config(otlp_sink(receiver.url))
    _store(env, TODAY)
    main(["consent", "detailed"])
    receiver.answers.append((400, {}))  # the first item (consent.granted) is refused
    assert main(["collect"]) == 0
    status = agent().outbox.status("main")
    assert status.pending == 0
    assert [(a.kind, a.reason) for a in status.rejected] == [("consent", "HTTP 400: ")]
    assert _commit_points(receiver) == [(3, TODAY.isoformat())]
    main(["status"])
    out = capsys.readouterr().out
    assert "rejected: 1" in out and ": HTTP 400: " in out


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_keep_the_item(env, receiver, write_config, agent, status) -> None:
    write_config(otlp_sink(receiver.url))
    receiver.answers.append((status, {}))
    main(["collect"])
    s = agent().outbox.status("main")
    assert s.pending >= 1 and s.rejected == [] and s.last_failure == f"HTTP {status}"


def test_server_error_500_is_not_retried(env, receiver, write_config, agent) -> None:
    write_config(otlp_sink(receiver.url))
    receiver.answers.extend([(500, {})] * 5)
    main(["collect"])
    assert agent().outbox.status("main").pending == 0
    assert len(agent().outbox.status("main").rejected) == 2


def test_network_error_is_retried(env, write_config, agent) -> None:
    write_config(otlp_sink("http://127.0.0.1:9"))  # discard port: nothing listens
    main(["collect"])
    s = agent().outbox.status("main")
    assert s.pending == 2 and s.last_failure.startswith("network: ConnectionRefusedError")


def test_retry_after_holds_the_sink_back(env, receiver, write_config, agent) -> None:
    write_config(otlp_sink(receiver.url) + "[outbox]\nbackoff_max_seconds = 60\n")
    receiver.answers.append((429, {"Retry-After": "30"}))
    main(["collect"])
    a = agent()
    failures, not_before = a.outbox.failures("main")
    assert failures == 1 and 25 < not_before - time.time() <= 30.5
    before = len(receiver.requests)
    result = flush_sink(
        a.sinks[0], a.outbox, a.backoff, may_send=a.may_send, on_ack=a.on_ack, stop=threading.Event()
    )
    assert result.deferred and len(receiver.requests) == before  # not due yet: nothing sent


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    backoff, rng = Backoff(base=1.0, cap=60.0), random.Random(7)
    for failures in range(1, 10):
        ceiling = min(60.0, 2 ** (failures - 1))
        assert ceiling / 2 <= backoff.delay(failures, None, rng) <= ceiling
    assert backoff.delay(3, 5.0, rng) == 5.0
    assert backoff.delay(3, 7200.0, rng) == 60.0


def test_a_400_from_one_sink_does_not_stop_another(env, write_config, agent) -> None:
    bad, good = Receiver().start(), Receiver().start()
    try:
        bad.answers.extend([(400, {})] * 50)
        write_config(otlp_sink(bad.url, "bad") + otlp_sink(good.url, "good"))
        _store(env, TODAY)
        main(["consent", "detailed"])
        main(["collect"])
        assert _commit_points(good) == [(3, TODAY.isoformat())]
        assert agent().outbox.status("good").pending == 0
        assert len(agent().outbox.status("bad").rejected) == 6
    finally:
        bad.stop()
        good.stop()


def test_size_bound_drops_oldest_and_counts_them(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, max_bytes=10_000)
    for n in range(30):
        outbox.put("main", "metrics", "day", f"day:{n}", "detailed", bytes(1000))
    status = outbox.status("main")
    assert status.pending == 10 and status.dropped == 20
    assert outbox.next_item("main", 0).key == "day:20"  # the newest survive


def test_outbox_refuses_a_future_format(tmp_path: Path) -> None:
    import sqlite3

    from agent.errors import StateError

    db = sqlite3.connect(tmp_path / "outbox.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StateError, match="outbox format 99"):
        Outbox(tmp_path, 1000)


def test_run_round_queues_a_day_again_only_when_it_changed(env, receiver, write_config, agent) -> None:
    write_config(otlp_sink(receiver.url))
    _store(env, TODAY, commits=1)
    main(["consent", "detailed"])
    a, rounds = agent(), Rounds()
    for commits in (1, 1, 2):
        _store(env, TODAY, commits=commits)
        collect_round(a, rounds)
        a.flush()
    assert [v for v, _ in gauge_points(receiver.ok(), C.M_COMMITS)] == [1, 2]
    assert len(gauge_points(receiver.ok(), C.M_AGENT_RSS)) == 3  # its own cost goes every round


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["day:1", "day:2", "day:3", "agent"]), st.binary(max_size=40)), max_size=30
    )
)
def test_outbox_keeps_exactly_the_newest_unsent_payload_per_key(puts) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Outbox(Path(tmp), max_bytes=10**6)
        for key, body in puts:
            outbox.put("main", "metrics", "day", key, "detailed", body)
        kept, last_id = {}, 0
        while (item := outbox.next_item("main", last_id)) is not None:
            kept[item.key], last_id = item.body, item.id
        assert kept == dict(puts)


def test_run_round_queues_an_unchanged_day_after_opt_in(env, receiver, write_config, agent) -> None:
    write_config(otlp_sink(receiver.url))
    _store(env, TODAY)
    a, rounds = agent(), Rounds()
    collect_round(a, rounds)  # base: the day may not leave
    main(["consent", "detailed"])
    collect_round(a, rounds)  # same content, but now it may
    a.flush()
    assert _commit_points(receiver) == [(3, TODAY.isoformat())]
