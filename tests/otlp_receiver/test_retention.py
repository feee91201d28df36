"""`devtel-receiver forget` and `prune` on SQLite and MariaDB, over data sent through the real receiver
into every table it writes."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from agent import contract as c
from bridge.mapping.otlp_values import to_key_values
from bridge.store.database import make_engine
from tests.otlp_receiver.test_ai_intake import devtel_ai_request
from tests.support.ai_tools import DELTA, ToolProcess, claude_resource
from tests.support.otlp import DayFigures, developer_resource, metrics_request, summary_request
from tests.support.processes import RunningReceiver, create_connection, receiver_cli, start_receiver

TABLES = (
    "_tool_developer_metrics",
    "_devtel_install_days",
    "_tool_developer_command_stats",
    "_tool_developer_ai_metrics",
    "_devtel_ai_points",
)
TODAY = dt.datetime.now(dt.UTC).date()


class Fleet:
    def __init__(self, receiver: RunningReceiver, connection_id: int, api_key: str) -> None:
        self.receiver, self.connection_id, self.api_key = receiver, connection_id, api_key

    def post(self, path: str, body: bytes) -> None:
        answer = httpx.post(
            self.receiver.url + path,
            content=body,
            headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {self.api_key}"},
            timeout=30,
        )
        assert answer.status_code == 200 and b"partial" not in answer.content, answer.content

    def send_day(self, developer: str, install: str, date: dt.date) -> None:
        """One day of everything: day metrics, a summary with command stats, base events, AI totals."""
        resource = developer_resource(developer, install)
        figures = DayFigures(date.isoformat()).active_hours(3).repository("api", 2, 10, 5, 1).tools("vim")
        self.post("/v1/metrics", metrics_request(figures, resource))
        stats = [
            {
                "repository": "api",
                "category": "test",
                "tool": "pytest",
                "outcome": "success",
                "count": 4,
                "total_duration_s": 40.0,
                "p50_duration_s": 9.0,
                "p95_duration_s": 15.0,
                "cpu_time_s": 30.0,
                "wall_time_s": 40.0,
            }
        ]
        self.post("/v1/logs", summary_request(date.isoformat(), {c.BODY_COMMAND_STATS: stats}, resource))
        self.post("/v1/logs", base_events(install))
        self.post(
            "/v1/metrics", devtel_ai_request(install, date.isoformat(), 5, 3, 42, time.time_ns(), developer)
        )

    def count(self, table: str, **where: object) -> int:
        engine = make_engine(self.receiver.db_url)
        clause = " AND ".join(f"{k} = :{k}" for k in where) or "1 = 1"
        try:
            with engine.connect() as conn:
                return conn.execute(
                    sa.text(f"SELECT COUNT(*) FROM {table} WHERE {clause}"), where
                ).scalar_one()
        finally:
            engine.dispose()

    def cli(self, *args: str) -> tuple[int, str, str]:
        done = receiver_cli(*args, db_url=self.receiver.db_url, check=False)
        return done.returncode, done.stdout, done.stderr


def base_events(install: str) -> bytes:
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.extend(to_key_values({c.RES_INSTANCE_ID: install}))
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    rl.scope_logs.add().log_records.append(
        LogRecord(
            time_unix_nano=time.time_ns(),
            event_name=c.E_HEARTBEAT,
            attributes=to_key_values({"install_id": install, "platform": "linux", "heartbeat_at": now}),
        )
    )
    return request.SerializeToString()


@pytest.fixture
def fleet(db_url: str, tmp_path: Path) -> Iterator[Fleet]:
    connection_id, api_key = create_connection(db_url, "retention")
    receiver = start_receiver(db_url, tmp_path)
    yield Fleet(receiver, connection_id, api_key)
    assert receiver.stop() == 0, receiver.log()


def test_forget_removes_a_developer_from_every_table_and_only_them(fleet: Fleet) -> None:
    for developer, install in (("gus", "gus-laptop"), ("ola", "ola-laptop")):
        for days_ago in (0, 1):
            fleet.send_day(developer, install, TODAY - dt.timedelta(days=days_ago))
    for table in TABLES:
        assert fleet.count(table, developer_id="gus") > 0, table
    code, out, err = fleet.cli(
        "forget", "--connection", str(fleet.connection_id), "--developer", "gus", "--json"
    )
    assert code == 0, err
    removed = json.loads(out)
    assert set(removed) == {*TABLES, "_devtel_installs"} and removed["_devtel_installs"] == 1
    for table in TABLES:
        assert fleet.count(table, developer_id="gus") == 0, table
        assert fleet.count(table, developer_id="ola") > 0, table
    assert fleet.count("_devtel_installs", install_id="gus-laptop") == 0
    assert fleet.count("_devtel_installs", install_id="ola-laptop") == 1
    code, out, _ = fleet.cli("forget", "--connection", str(fleet.connection_id), "--developer", "gus")
    assert code == 0 and "0 row(s) deleted" in out  # forgetting twice is no error


def test_forget_leaves_other_connections_alone(fleet: Fleet) -> None:
    fleet.send_day("gus", "gus-laptop", TODAY)
    code, out, _ = fleet.cli("forget", "--connection", str(fleet.connection_id + 1), "--developer", "gus")
    assert code == 0 and "0 row(s) deleted" in out
    assert fleet.count("_tool_developer_ai_metrics", developer_id="gus") == 1


def test_prune_keeps_what_is_younger(fleet: Fleet) -> None:
    for days_ago in (0, 29, 31, 95):
        fleet.send_day("gus", "gus-laptop", TODAY - dt.timedelta(days=days_ago))
    code, out, err = fleet.cli("prune", "--json")  # by default: the AI tables, older than 90 days
    assert code == 0, err
    assert json.loads(out)["_tool_developer_ai_metrics"] == 1
    assert fleet.count("_tool_developer_ai_metrics") == 3 and fleet.count("_tool_developer_metrics") == 4
    code, out, err = fleet.cli("prune", "--older-than", "30")
    assert code == 0 and "every table older than 30 days" in out, err
    for table in TABLES:
        engine = make_engine(fleet.receiver.db_url)
        with engine.connect() as conn:
            dates = {str(d) for d in conn.execute(sa.text(f"SELECT DISTINCT date FROM {table}")).scalars()}
        engine.dispose()
        assert dates == {str(TODAY), str(TODAY - dt.timedelta(days=29))}, table
    assert fleet.count("_devtel_installs") == 1  # heard from today


BAD_ARGUMENTS = [
    (("forget", "--connection", "1", "--developer", ""), "--developer: must not be empty"),
    (("forget", "--connection", "0", "--developer", "gus"), "--connection must be a connection id"),
    (("forget", "--connection", "x", "--developer", "gus"), "invalid int value"),
    (("forget", "--connection", "1", "--developer", "g" * 300), "at most 255"),
    (("forget", "--developer", "gus"), "--connection"),
    (("prune", "--older-than", "0"), "--older-than: must be a whole number of days from 1"),
    (("prune", "--older-than", "-5"), "--older-than: must be a whole number of days from 1"),
    (("prune", "--ai-older-than", "99999999"), "--ai-older-than: must be a whole number of days"),
    (("prune", "--older-than", "ten"), "invalid int value"),
]


def test_bad_arguments_get_a_clear_error_and_change_nothing(fleet: Fleet) -> None:
    fleet.send_day("gus", "gus-laptop", TODAY - dt.timedelta(days=200))
    before = {table: fleet.count(table) for table in TABLES}
    for args, message in BAD_ARGUMENTS:
        code, _, err = fleet.cli(*args)
        assert code == 2 and message in err, (args, err)
    assert {table: fleet.count(table) for table in TABLES} == before


def test_a_bad_retention_setting_is_named(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVTEL_AI_RETENTION_DAYS", "soon")
    code, _, err = fleet.cli("prune")
    assert code == 2 and "DEVTEL_AI_RETENTION_DAYS='soon' is not a whole number" in err


def test_serve_prunes_the_ai_tables_when_it_starts(fleet: Fleet, tmp_path: Path) -> None:
    fleet.send_day("gus", "gus-laptop", TODAY - dt.timedelta(days=120))
    fleet.send_day("gus", "gus-laptop", TODAY)
    assert fleet.count("_tool_developer_ai_metrics") == 2
    second = start_receiver(fleet.receiver.db_url, tmp_path, extra_env={"DEVTEL_AI_RETENTION_DAYS": "100"})
    try:
        deadline = time.monotonic() + 20
        while fleet.count("_tool_developer_ai_metrics") != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        assert second.stop() == 0, second.log()
    assert fleet.count("_tool_developer_ai_metrics") == 1 and fleet.count("_devtel_ai_points") == 3
    assert fleet.count("_tool_developer_metrics") == 2  # only the AI tables have a default retention
    assert "AI retention (100 days): removed" in second.log()


def _claude_lines(fleet: Fleet, email: str, lines: int) -> None:
    """Claude Code naming its user by email only, as it does when logged in."""
    process = ToolProcess(claude_resource(), "com.anthropic.claude_code", DELTA)
    process.add("claude_code.lines_of_code.count", lines, {"user.email": email, "type": "added"})
    fleet.post("/v1/metrics", process.request())


def test_an_ai_tools_email_joins_the_devlake_id_and_forget_removes_every_identity(fleet: Fleet) -> None:
    _claude_lines(fleet, "hal@example.com", 10)  # before the receiver knows whose email it is
    assert fleet.count("_tool_developer_ai_metrics", developer_id="hal@example.com") == 1
    fleet.send_day("hal", "hal-laptop", TODAY)  # hal's DevLake rows carry hal@example.com
    _claude_lines(fleet, "hal@example.com", 5)
    joined = fleet.count("_tool_developer_ai_metrics", developer_id="hal", tool="claude_code")
    assert joined == 1  # stored under the DevLake id now, beside hal's own rows
    fleet.send_day("ola", "ola-laptop", TODAY)
    code, _, err = fleet.cli("forget", "--connection", str(fleet.connection_id), "--developer", "hal")
    assert code == 0, err
    for developer in ("hal", "hal@example.com"):
        assert fleet.count("_tool_developer_ai_metrics", developer_id=developer) == 0
        assert fleet.count("_devtel_ai_points", developer_id=developer) == 0
    assert fleet.count("_tool_developer_ai_metrics", developer_id="ola") == 1
