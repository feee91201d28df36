"""The agent against the real devtel receiver (a `devtel-receiver serve` subprocess on SQLite):
what the agent sends becomes the DevLake row, over OTLP/HTTP, OTLP/gRPC and the legacy route."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cli import main
from agent.sent_log import read_sent
from agent.store import DayStore
from tests.agent.conftest import LOGIN, sample_day
from tests.support.processes import RunningReceiver, create_connection, free_port, start_receiver

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def real_receiver(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningReceiver, int, str, Path]]:
    workdir = tmp_path_factory.mktemp("receiver")
    db_path = workdir / "receiver.db"
    connection_id, api_key = create_connection(f"sqlite:///{db_path}", "agent-core")
    receiver = start_receiver(f"sqlite:///{db_path}", workdir, grpc_port=free_port())
    yield receiver, connection_id, api_key, db_path
    assert receiver.stop() == 0, receiver.log()


def _row(db_path: Path, date: dt.date) -> dict[str, object] | None:
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT * FROM _tool_developer_metrics WHERE developer_id = ? AND date = ?",
            (LOGIN, date.isoformat()),
        ).fetchone()
    return dict(row) if row else None


@pytest.fixture
def day_of(env: dict[str, str]):
    def store(date: dt.date, commits: int) -> None:
        Path(env["DEVTEL_HOME"]).mkdir(parents=True, exist_ok=True)
        DayStore(Path(env["DEVTEL_HOME"])).save(sample_day(date, commits=commits))

    return store


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json", "grpc"])
def test_collect_becomes_the_devlake_row(real_receiver, write_config, day_of, protocol) -> None:
    receiver, _, key, db_path = real_receiver
    endpoint = f"http://127.0.0.1:{receiver.grpc_port}" if protocol == "grpc" else receiver.url
    write_config(
        f'[sinks.r]\ntype = "otlp"\nprotocol = "{protocol}"\nendpoint = "{endpoint}"\n'
        f'[sinks.r.headers]\nAuthorization = "Bearer {key}"\n'
    )
    date = TODAY - dt.timedelta(days=10 + ["http/protobuf", "http/json", "grpc"].index(protocol))
    day_of(date, commits=5)
    main(["consent", "detailed"])
    assert main(["collect", "--date", date.isoformat()]) == 0
    row = _row(db_path, date)
    assert row is not None, receiver.log()[-2000:]
    assert row["active_hours"] == 2
    assert json.loads(row["git_activity"])["total_commits"] == 5
    assert json.loads(row["development_activity"])["test_runs_detected"] == 4


def test_a_newer_snapshot_replaces_the_row_after_an_outage(real_receiver, write_config, day_of, env) -> None:
    receiver, _, key, db_path = real_receiver
    write_config(
        f'[sinks.r]\ntype = "otlp"\nendpoint = "http://127.0.0.1:{free_port()}"\n'
        f'[sinks.r.headers]\nAuthorization = "Bearer {key}"\n'
    )
    date = TODAY - dt.timedelta(days=20)
    main(["consent", "detailed"])
    for commits in (1, 2, 7):  # three snapshots while the receiver is unreachable
        day_of(date, commits)
        main(["collect", "--date", date.isoformat()])
    write_config(
        f'[sinks.r]\ntype = "otlp"\nendpoint = "{receiver.url}"\n'
        f'[sinks.r.headers]\nAuthorization = "Bearer {key}"\n'
    )
    assert _row(db_path, date) is None
    assert main(["flush"]) == 0  # a different endpoint, same sink name: its queue goes to the receiver
    assert json.loads(_row(db_path, date)["git_activity"])["total_commits"] == 7


def test_legacy_sink_writes_the_row(real_receiver, write_config, day_of, env) -> None:
    receiver, connection_id, key, db_path = real_receiver
    write_config()
    url = f"{receiver.url}/api/rest/plugins/developer_telemetry/connections/{connection_id}/report"
    Path(os.environ["DEVTEL_LEGACY_CONFIG"]).write_text(json.dumps({"webhook_url": url, "api_key": key}))
    date = TODAY - dt.timedelta(days=30)
    day_of(date, commits=9)
    main(["consent", "detailed"])
    assert main(["collect", "--date", date.isoformat()]) == 0
    assert json.loads(_row(db_path, date)["git_activity"])["total_commits"] == 9


def test_a_wrong_key_is_moved_aside_with_the_receivers_reason(real_receiver, write_config, agent) -> None:
    receiver, *_ = real_receiver
    write_config(
        f'[sinks.r]\ntype = "otlp"\nendpoint = "{receiver.url}"\n'
        '[sinks.r.headers]\nAuthorization = "Bearer wrong"\n'
    )
    main(["collect"])
    status = agent().outbox.status("r")
    assert status.pending == 0 and status.rejected and status.rejected[0].reason.startswith("HTTP 401")


def test_a_wrong_key_is_loud_and_requeue_after_the_fix_delivers(
    real_receiver, write_config, day_of, env, capsys
) -> None:
    """401 from the real receiver: collect exits 6 with one line; fixed key + requeue + flush → the row."""
    receiver, _, key, db_path = real_receiver
    sink = f'[sinks.r]\ntype = "otlp"\nendpoint = "{receiver.url}"\n[sinks.r.headers]\n'
    write_config(sink + 'Authorization = "Bearer not-the-key"\n')
    date = TODAY - dt.timedelta(days=40)
    day_of(date, commits=6)
    main(["consent", "detailed"])
    capsys.readouterr()
    assert main(["collect", "--date", date.isoformat()]) == 6
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "sink r rejected all" in err and "HTTP 401" in err and "check the API key" in err
    assert _row(db_path, date) is None

    main(["status", "--json"])
    (before,) = json.loads(capsys.readouterr().out)["sinks"]
    assert before["pending"] == 0 and before["sent"] == 0 and len(before["rejected"]) >= 3
    assert all(r["reason"].startswith("HTTP 401") and r["at"] for r in before["rejected"])

    write_config(sink + f'Authorization = "Bearer {key}"\n')
    assert main(["requeue", "--sink", "r"]) == 0
    assert f"requeued {len(before['rejected'])} rejected item(s)" in capsys.readouterr().out
    assert main(["flush"]) == 0
    assert json.loads(_row(db_path, date)["git_activity"])["total_commits"] == 6
    capsys.readouterr()
    main(["status", "--json"])
    (after,) = json.loads(capsys.readouterr().out)["sinks"]
    assert (after["pending"], after["rejected"], after["sent"]) == (0, [], len(before["rejected"]))
    main(["sent", "--json"])
    sent = json.loads(capsys.readouterr().out)
    assert len(sent) == len(before["rejected"])
    assert {(e["sink"], e["answer"]) for e in sent} == {("r", "HTTP 200")}
    assert {"what": "day-metrics", "day": date.isoformat()}.items() <= next(
        e for e in sent if e["what"] == "day-metrics"
    ).items()
    assert read_sent(Path(env["DEVTEL_HOME"]), dt.date.today(), dt.date.today())[0].answer == "HTTP 200"


def test_requeue_names_an_unknown_sink(env, write_config, capsys) -> None:
    write_config('[sinks.r]\ntype = "otlp"\nendpoint = "http://127.0.0.1:9"\n')
    assert main(["requeue", "--sink", "nope"]) == 1
    assert "no sink named 'nope'; configured: r" in capsys.readouterr().err
