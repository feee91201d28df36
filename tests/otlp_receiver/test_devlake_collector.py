"""The deployed DevLake collector's real reports, over real HTTP, and how its rows merge.

The bodies in tests/testdata/collector_report*.json have the shape the collector builds with jq
(see docs/receiver.md); they are posted with the collector's own headers. Expected values are
computed here from the bodies, never from devtel's code.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bridge.store.database import make_engine
from tests.otlp_receiver.conftest import Served
from tests.support.otlp import developer_resource, summary_request
from tests.support.processes import create_connection, start_receiver

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
COLLECTOR_FIXTURES = [
    "collector_report.json",
    "collector_report_idle.json",
    "collector_report_nulls.json",
    "collector_report_old.json",
]


def collector_body(name: str = "collector_report.json", **identity: str) -> dict[str, Any]:
    return json.loads((TESTDATA / name).read_text()) | identity


def send_like_the_collector(served: Served, body: dict[str, Any]) -> httpx.Response:
    """What the collector's curl sends: these three headers and the jq-built body."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "DevLake-Telemetry-Collector/1.0",
        "Authorization": f"Bearer {served.api_key}",
    }
    return httpx.post(served.report_url, content=json.dumps(body).encode(), headers=headers, timeout=30)


def query(served: Served, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = make_engine(served.receiver.db_url)
    try:
        with engine.connect() as conn:
            return [r._asdict() for r in conn.execute(sa.text(sql), {"c": served.connection_id, **params})]
    finally:
        engine.dispose()


def row_of(served: Served, developer: str, date: str) -> dict[str, Any]:
    (found,) = query(
        served,
        "SELECT * FROM _tool_developer_metrics WHERE connection_id = :c AND developer_id = :d AND date = :t",
        d=developer,
        t=date,
    )
    return found


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.parametrize("fixture", COLLECTOR_FIXTURES)
def test_every_collector_shape_is_accepted_and_stored(served: Served, fixture: str) -> None:
    developer = f"shape.{fixture.split('.')[0]}"
    body = collector_body(fixture, developer=developer)
    response = send_like_the_collector(served, body)
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    row = row_of(served, developer, body["date"])
    metrics = body["metrics"]
    assert row["active_hours"] == metrics["active_hours"]
    assert row["hostname"] == body["hostname"] and row["email"] == body.get("email")
    # DevLake stores the projects array as sent: bare directory names.
    assert as_json(row["project_context"]) == (
        sorted(metrics["projects"]) if metrics["projects"] else metrics["projects"]
    )
    assert as_json(row["tools_used"]) == (
        sorted(metrics["tools_used"]) if metrics["tools_used"] is not None else None
    )
    git = metrics["git_activity"]
    stored_git = as_json(row["git_activity"])
    assert stored_git["total_commits"] == git["total_commits"]
    assert stored_git["total_lines_added"] == git["total_lines_added"]
    assert stored_git["total_lines_deleted"] == (git["total_lines_deleted"] or 0)
    assert [r["name"] for r in stored_git["repositories"]] == [r["name"] for r in git["repositories"] or []]
    if "os_info" in body:
        assert row["os_info"] == body["os_info"]


def test_dashboard_queries_read_string_projects_and_nulls(served: Served) -> None:
    """The dashboard's JSON_EXTRACT/IS NOT NULL/> 0 forms over rows of every collector shape."""
    for fixture in COLLECTOR_FIXTURES:
        assert (
            send_like_the_collector(served, collector_body(fixture, developer="dash.user")).status_code == 200
        )
    rows = query(
        served,
        "SELECT date, JSON_EXTRACT(git_activity, '$.total_commits') AS commits,"
        " JSON_EXTRACT(development_activity, '$.test_runs_detected') AS tests,"
        " JSON_EXTRACT(project_context, '$[0]') IS NOT NULL AS has_projects"
        " FROM _tool_developer_metrics WHERE connection_id = :c AND developer_id = 'dash.user'"
        " AND development_activity IS NOT NULL ORDER BY date",
    )
    expected = []
    for fixture in sorted(COLLECTOR_FIXTURES, key=lambda f: collector_body(f)["date"]):
        metrics = collector_body(fixture)["metrics"]
        if metrics["development_activity"] is not None:
            expected.append((metrics["git_activity"]["total_commits"], bool(metrics["projects"])))
    assert [(int(r["commits"]), bool(r["has_projects"])) for r in rows] == expected


def test_two_laptops_on_the_old_collector_merge_into_one_row(served: Served) -> None:
    laptop = collector_body(developer="two.hosts", hostname="sarah-macbook")
    desktop = collector_body(developer="two.hosts", hostname="sarah-imac")
    desktop["metrics"] |= {"active_hours": 3, "tools_used": ["goland", "git"], "projects": ["infra"]}
    desktop["metrics"]["git_activity"] = {
        "total_commits": 2,
        "total_lines_added": 10,
        "total_lines_deleted": 1,
        "total_files_changed": 2,
        "repositories": [
            {
                "name": "infra",
                "path": "/Users/sarah/infra",
                "commits": 2,
                "lines_added": 10,
                "lines_deleted": 1,
                "files_changed": 2,
                "branches_worked": ["main"],
            }
        ],
    }
    desktop["metrics"]["development_activity"] = {"test_runs_detected": 2, "build_commands_detected": 1}
    for body in (laptop, desktop, laptop):
        assert send_like_the_collector(served, body).status_code == 200
    row = row_of(served, "two.hosts", laptop["date"])
    a, b = laptop["metrics"], desktop["metrics"]
    assert row["active_hours"] == max(a["active_hours"], b["active_hours"])  # totals only: the floor
    git = as_json(row["git_activity"])
    assert git["total_commits"] == a["git_activity"]["total_commits"] + b["git_activity"]["total_commits"]
    assert (
        git["total_lines_added"]
        == a["git_activity"]["total_lines_added"] + b["git_activity"]["total_lines_added"]
    )
    assert sorted(r["name"] for r in git["repositories"]) == sorted(
        r["name"] for r in a["git_activity"]["repositories"] + b["git_activity"]["repositories"]
    )
    assert as_json(row["tools_used"]) == sorted(set(a["tools_used"]) | set(b["tools_used"]))
    assert as_json(row["project_context"]) == sorted(set(a["projects"]) | set(b["projects"]))
    dev = as_json(row["development_activity"])
    assert dev["test_runs_detected"] == a["development_activity"]["test_runs_detected"] + 2
    # The identity comes from one of the two hosts, the same one whatever the order of arrival.
    assert row["hostname"] == max(laptop["hostname"], desktop["hostname"])


def test_a_replay_writes_nothing(served: Served) -> None:
    body = collector_body(developer="replay.user")
    assert send_like_the_collector(served, body).status_code == 200
    where = "WHERE connection_id = :c AND developer_id = 'replay.user'"
    before = query(served, f"SELECT updated_at FROM _tool_developer_metrics {where}")
    installs_before = query(served, f"SELECT install_id, updated_at FROM _devtel_install_days {where}")
    assert [r["install_id"] for r in installs_before] == [body["hostname"]]
    for _ in range(2):
        assert send_like_the_collector(served, copy.deepcopy(body)).status_code == 200
    assert query(served, f"SELECT updated_at FROM _tool_developer_metrics {where}") == before
    assert (
        query(served, f"SELECT install_id, updated_at FROM _devtel_install_days {where}") == installs_before
    )


def test_a_resend_from_the_same_host_replaces_its_own_figures(served: Served) -> None:
    body = collector_body(developer="resend.user")
    send_like_the_collector(served, body)
    body["metrics"]["active_hours"] = 2
    send_like_the_collector(served, body)
    assert row_of(served, "resend.user", body["date"])["active_hours"] == 2


def test_old_collector_and_devtel_agent_during_a_migration_merge(served: Served) -> None:
    """One laptop still on the collector, one on the devtel agent: one row, the union."""
    legacy = collector_body(developer="migrating.user")
    assert send_like_the_collector(served, legacy).status_code == 200
    agent_body = {
        "active_clock_hours": [1_771_430_400 + 3600 * h for h in range(9)],  # 9 distinct hours
        "git_activity": {
            "repositories": [
                {
                    "name": "mobile-app",
                    "commits": 4,
                    "lines_added": 40,
                    "lines_deleted": 4,
                    "files_changed": 4,
                    "branches_worked": ["dev"],
                }
            ]
        },
        "development_activity": {"test_runs_detected": 6, "build_commands_detected": 1},
        "tools_used": ["cursor"],
        "project_context": [{"name": "mobile-app"}],
    }
    request = summary_request(legacy["date"], agent_body, developer_resource("migrating.user", "laptop-2"))
    response = httpx.post(
        served.receiver.url + "/v1/logs",
        content=request,
        headers={"Content-Type": "application/x-protobuf", **served.auth()},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    row = row_of(served, "migrating.user", legacy["date"])
    m = legacy["metrics"]
    assert row["active_hours"] == max(m["active_hours"], len(agent_body["active_clock_hours"]))
    git = as_json(row["git_activity"])
    assert git["total_commits"] == m["git_activity"]["total_commits"] + 4
    assert sorted(r["name"] for r in git["repositories"]) == sorted(
        [r["name"] for r in m["git_activity"]["repositories"]] + ["mobile-app"]
    )
    assert as_json(row["tools_used"]) == sorted(set(m["tools_used"]) | {"cursor"})
    assert as_json(row["project_context"]) == sorted(
        [*m["projects"], {"name": "mobile-app"}], key=lambda p: p if isinstance(p, str) else p["name"]
    )
    assert as_json(row["development_activity"])["test_runs_detected"] == 6


def test_ids_differing_in_case_or_trailing_space_are_distinct_developers(served: Served) -> None:
    """utf8mb4_bin-like keys: never one row that flips between two developers (the shared
    MariaDB's default collation ignores case, so this fails without an explicit one)."""
    ids = ["Sarah.Johnson", "sarah.johnson", "sarah.johnson "]
    for hours, developer in enumerate(ids, start=1):
        body = collector_body(developer=developer)
        body["metrics"]["active_hours"] = hours
        assert send_like_the_collector(served, body).status_code == 200
    for hours, developer in enumerate(ids, start=1):
        assert row_of(served, developer, body["date"])["active_hours"] == hours
    for table in ("_tool_developer_metrics", "_devtel_install_days"):
        found = query(
            served,
            f"SELECT developer_id FROM {table} WHERE connection_id = :c"
            " AND LOWER(developer_id) LIKE 'sarah.johnson%' AND date = :t",
            t=body["date"],
        )
        assert sorted(r["developer_id"] for r in found) == sorted(ids), table


def test_install_ids_differing_in_case_are_two_installs(served: Served) -> None:
    for host in ("MacBook", "macbook"):
        body = collector_body(developer="case.hosts", hostname=host)
        assert send_like_the_collector(served, body).status_code == 200
    found = query(
        served,
        "SELECT install_id FROM _devtel_install_days"
        " WHERE connection_id = :c AND developer_id = 'case.hosts'",
    )
    assert sorted(r["install_id"] for r in found) == ["MacBook", "macbook"]


@pytest.mark.parametrize("date", ["1999-12-31", "1970-01-01", "2199-01-01"])
def test_days_before_the_floor_or_ahead_of_the_clock_are_400_naming_the_field(
    served: Served, date: str
) -> None:
    body = collector_body(developer="dated.user", date=date)
    response = send_like_the_collector(served, body)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("date: ")
    assert query(served, "SELECT * FROM _tool_developer_metrics WHERE developer_id = 'dated.user'") == []


def test_tomorrow_is_accepted_and_the_day_after_is_not(served: Served) -> None:
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = collector_body(developer="clock.user", date=str(today + dt.timedelta(days=1)))
    assert send_like_the_collector(served, tomorrow).status_code == 200
    later = collector_body(developer="clock.user", date=str(today + dt.timedelta(days=3)))
    response = send_like_the_collector(served, later)
    assert response.status_code == 400 and "ahead of the receiver's clock" in response.json()["message"]


def test_the_floor_is_configurable_and_a_bad_one_stops_serve(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'floor.db'}"
    connection_id, api_key = create_connection(db_url, "floor")
    bad = subprocess.run(
        [sys.executable, "-m", "otlp_receiver", "serve", "--db", db_url, "--port", "0"],
        env={**os.environ, "DEVTEL_MIN_DATE": "last year"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "DEVTEL_MIN_DATE" in bad.stderr, bad.stderr
    receiver = start_receiver(db_url, tmp_path, extra_env={"DEVTEL_MIN_DATE": "2026-02-15"})
    try:
        served = Served(receiver, connection_id, api_key)
        old = collector_body("collector_report_old.json")  # 2026-02-13
        response = send_like_the_collector(served, old)
        assert response.status_code == 400 and response.json()["message"].startswith(
            "date: 2026-02-13 is before"
        )
        assert send_like_the_collector(served, collector_body()).status_code == 200  # 2026-02-18
    finally:
        assert receiver.stop() == 0, receiver.log()


def test_one_host_on_both_routes_is_counted_once(served: Served) -> None:
    """The devtel agent's DevLake sink beside its OTLP sink: one machine, never doubled."""
    resource = developer_resource("both.routes", "laptop-b")
    body = {
        "active_clock_hours": [1_771_430_400 + 3600 * h for h in range(4)],
        "git_activity": {
            "repositories": [
                {"name": "api", "commits": 2, "lines_added": 9, "lines_deleted": 1, "files_changed": 2}
            ]
        },
        "development_activity": {"test_runs_detected": 3, "build_commands_detected": 1},
        "tools_used": ["vscode"],
    }
    request = summary_request("2026-02-18", body, resource)
    response = httpx.post(
        served.receiver.url + "/v1/logs",
        content=request,
        headers={"Content-Type": "application/x-protobuf", **served.auth()},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    legacy = collector_body(developer="both.routes", hostname=resource["host.name"])
    legacy["metrics"] |= {
        "active_hours": 4,
        "tools_used": ["vscode"],
        "projects": [],
        "git_activity": {
            "total_commits": 2,
            "total_lines_added": 9,
            "total_lines_deleted": 1,
            "total_files_changed": 2,
            "repositories": [
                {"name": "api", "commits": 2, "lines_added": 9, "lines_deleted": 1, "files_changed": 2}
            ],
        },
        "development_activity": {"test_runs_detected": 3, "build_commands_detected": 1},
    }
    assert send_like_the_collector(served, legacy).status_code == 200
    row = row_of(served, "both.routes", "2026-02-18")
    assert row["active_hours"] == len(body["active_clock_hours"])
    assert as_json(row["git_activity"])["total_commits"] == 2
    assert as_json(row["development_activity"])["test_runs_detected"] == 3
