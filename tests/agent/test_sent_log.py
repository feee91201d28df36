"""The sent log keeps only what was acknowledged, for a bounded time, and survives a cut line."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path

from agent.cli import main
from agent.pipeline import Agent
from agent.sent_log import RETENTION_DAYS, SENT_DIR, SentEntry, read_sent, record
from agent.store import DayStore
from tests.agent.conftest import otlp_sink, sample_day

NOW = dt.datetime.now(dt.UTC)


def _entry(at: dt.datetime, what: str = "heartbeat") -> SentEntry:
    return SentEntry(at, "main", None, what, "HTTP 200", {"bytes": 1})


def test_files_past_the_retention_are_deleted_when_a_new_day_starts(tmp_path: Path) -> None:
    old, kept = NOW - dt.timedelta(days=RETENTION_DAYS + 5), NOW - dt.timedelta(days=RETENTION_DAYS - 5)
    record(tmp_path, _entry(old))
    record(tmp_path, _entry(kept))
    assert len(list((tmp_path / SENT_DIR).glob("*.jsonl"))) == 2
    record(tmp_path, _entry(NOW))  # today's first entry sweeps what is past the window
    names = sorted(p.stem for p in (tmp_path / SENT_DIR).glob("*.jsonl"))
    assert names == sorted({kept.date().isoformat(), NOW.date().isoformat()})


def test_a_line_cut_by_a_crash_is_skipped(tmp_path: Path) -> None:
    record(tmp_path, _entry(NOW, "first"))
    path = tmp_path / SENT_DIR / f"{NOW.date().isoformat()}.jsonl"
    with path.open("a") as handle:
        handle.write('{"sent_at": "' + NOW.isoformat()[:10])  # no end, no newline
    today = NOW.astimezone().date()
    assert [e.what for e in read_sent(tmp_path, today, today)] == ["first"]


def test_only_acknowledged_payloads_are_logged(env, receiver, write_config, capsys) -> None:
    write_config(otlp_sink(receiver.url))
    receiver.answers.extend([(200, {}), (400, {}), (503, {})])
    main(["collect"])
    main(["sent", "--json"])
    logged = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert len(logged) == len(receiver.ok()) == 1
    assert logged[0]["answer"] == "HTTP 200" and logged[0]["summary"]["bytes"] == len(receiver.ok()[0].body)


def test_a_stored_body_a_grpc_sink_cannot_decode_is_moved_aside(env, write_config, capsys) -> None:
    write_config('[sinks.g]\ntype = "otlp"\nprotocol = "grpc"\nendpoint = "127.0.0.1:9"\ninsecure = true\n')
    agent = Agent(os.environ)
    agent.outbox.put("g", "metrics", "day", "day:2020-01-01", "base", b"\xff\xff\xff")
    with sqlite3.connect(Path(env["DEVTEL_HOME"]) / "outbox.db") as db:
        assert db.execute("SELECT COUNT(*) FROM items WHERE status = 'pending'").fetchone()[0] >= 1
    assert agent.flush(timeout=5)["g"].unreadable == 1
    (aside,) = [a for a in agent.outbox.status("g").rejected if a.key == "day:2020-01-01"]
    assert aside.status == "unreadable" and "DecodeError" in aside.reason


def test_days_are_named_for_day_data_only(env, receiver, write_config, capsys) -> None:
    """The day a payload describes: the day's totals have one, base events (the heartbeat) none."""
    write_config(otlp_sink(receiver.url))
    DayStore(Path(env["DEVTEL_HOME"])).save(sample_day(dt.date(2026, 3, 9)))
    main(["consent", "detailed"])
    main(["collect", "--date", "2026-03-09"])
    capsys.readouterr()
    main(["sent", "--json"])
    days = {(e["what"], e["day"]) for e in json.loads(capsys.readouterr().out)}
    assert {("day-metrics", "2026-03-09"), ("day-logs", "2026-03-09"), ("heartbeat", None)} <= days


def test_the_report_lists_what_the_receiver_acknowledged(env, receiver, write_config, capsys) -> None:
    """`report` reads the real sent log: its per-sink figures are the bytes the receiver took."""
    write_config(otlp_sink(receiver.url))
    assert main(["collect"]) == 0
    capsys.readouterr()
    assert main(["report", "--days", "1", "--json"]) == 0
    (sink,) = json.loads(capsys.readouterr().out)["sent"]["sinks"]
    taken = receiver.ok()
    assert sink["sink"] == "main" and sink["sends"] == len(taken) > 0
    assert sink["bytes"] == sum(len(request.body) for request in taken)
    assert sink["answers"] == ["HTTP 200"]
