"""The legacy body parser: both field formats accepted, every bad field named."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import InvalidReport
from bridge.mapping.legacy import parse_report, to_flat_report

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"


def load(name: str) -> dict[str, Any]:
    return json.loads((TESTDATA / name).read_text())


def test_flat_seed_body_becomes_a_day() -> None:
    day = parse_report(load("seed_report.json"), connection_id=2)
    assert day.key == (2, "test.user", dt.date(2026, 2, 19))
    assert (day.email, day.name, day.hostname, day.active_hours) == (
        "test@company.com",
        "Test User",
        "test-machine",
        5,
    )
    assert day.git_activity["total_commits"] == 3
    assert day.development_activity == {"test_runs_detected": 1, "build_commands_detected": 2}
    assert day.tools_used == ["vscode"]
    assert day.project_context == []


def test_nested_collector_body_maps_projects_to_project_context() -> None:
    body = load("collector_report.json")
    day = parse_report(body, connection_id=1)
    assert day.developer_id == body["developer"]
    assert day.active_hours == body["metrics"]["active_hours"]
    assert day.project_context == body["metrics"]["projects"]  # the collector's bare names, kept
    assert all(isinstance(name, str) for name in day.project_context)
    assert day.git_activity == body["metrics"]["git_activity"]


def test_seed_project_objects_are_still_accepted() -> None:
    projects = [{"name": "api", "path": "/p/api", "last_activity": "2026-02-18T15:30:00Z"}, "web"]
    body = load("collector_report.json")
    body["metrics"]["projects"] = projects
    assert parse_report(body, 1).project_context == projects


def test_older_collector_body_with_commands_and_os_info_is_accepted() -> None:
    body = load("collector_report_old.json")
    assert "commands" in body["metrics"] and "os_info" in body
    day = parse_report(body, 1)
    assert day.os_info == body["os_info"]
    assert day.active_hours == body["metrics"]["active_hours"]
    assert day.project_context == body["metrics"]["projects"]


@pytest.mark.parametrize(
    ("os_info", "stored"),
    [
        ({"name": "macOS", "version": "14.2.1"}, "macOS 14.2.1"),
        (None, None),
        (3, None),
        ("x" * 300, "x" * 255),
    ],
)
def test_os_info_in_any_old_shape_never_fails_the_report(os_info: Any, stored: str | None) -> None:
    body = load("collector_report_old.json") | {"os_info": os_info}
    assert parse_report(body, 1).os_info == stored


def test_nulls_read_as_absent_like_devlakes_decoder() -> None:
    body = load("collector_report_nulls.json")
    day = parse_report(body, 1)
    assert (day.email, day.name, day.tools_used, day.project_context, day.development_activity) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert day.git_activity["total_commits"] == body["metrics"]["git_activity"]["total_commits"]
    assert parse_report(load("collector_report.json") | {"metrics": None}, 1).active_hours == 0


def test_idle_day_with_empty_arrays_is_kept_empty() -> None:
    day = parse_report(load("collector_report_idle.json"), 1)
    assert (day.tools_used, day.project_context, day.git_activity["repositories"]) == ([], [], [])


def test_float_active_hours_is_truncated_like_devlake() -> None:
    body = load("seed_report.json") | {"active_hours": 6.9}
    assert parse_report(body, 1).active_hours == 6


def test_flat_report_round_trips() -> None:
    day = parse_report(load("seed_report.json"), 3)
    assert parse_report(to_flat_report(day), 3) == day


def _with(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(load("seed_report.json"))
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return body


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field", "says"),
    [
        ("developer_id", _DELETE, "developer_id", "required"),
        ("developer_id", "  ", "developer_id", "empty"),
        ("developer_id", 42, "developer_id", "string"),
        ("date", _DELETE, "date", "required"),
        ("date", "2026-02-30", "date", "not a real calendar date"),
        ("date", "19/02/2026", "date", "YYYY-MM-DD"),
        ("date", "2026-2-19", "date", "YYYY-MM-DD"),
        ("active_hours", "5", "active_hours", "non-negative integer"),
        ("active_hours", -1, "active_hours", "negative"),
        ("active_hours", True, "active_hours", "non-negative integer"),
        ("active_hours", 1e300, "active_hours", "too large"),
        ("email", {"a": 1}, "email", "must be a string"),
        ("email", "x" * 256, "email", "at most 255"),
        ("hostname", ["h"], "hostname", "must be a string"),
        ("tools_used", "vscode", "tools_used", "must be an array"),
        ("tools_used", [1], "tools_used[0]", "must be a string"),
        ("project_context", {"name": "x"}, "project_context", "must be an array"),
        ("project_context", [{"name": 5}], "project_context[0].name", "must be a string"),
        ("project_context", [7], "project_context[0]", "a project name or an object"),
        ("git_activity", [], "git_activity", "must be an object"),
        ("git_activity.total_commits", -3, "git_activity.total_commits", "negative"),
        ("git_activity.total_commits", "3", "git_activity.total_commits", "non-negative integer"),
        ("git_activity.repositories", "none", "git_activity.repositories", "must be an array"),
        (
            "git_activity.repositories",
            [{"name": "a", "commits": 1.5}],
            "git_activity.repositories[0].commits",
            "whole number",
        ),
        (
            "development_activity.test_runs_detected",
            -1,
            "development_activity.test_runs_detected",
            "negative",
        ),
        ("development_activity", "lots", "development_activity", "must be an object"),
        ("name", "\ud800", "name", "surrogate"),
    ],
)
def test_bad_field_is_named(path: str, value: Any, field: str, says: str) -> None:
    with pytest.raises(InvalidReport) as caught:
        parse_report(_with(path, value), 1)
    assert caught.value.field == field
    assert says in str(caught.value)


@pytest.mark.parametrize("body", [[], "report", 3, None])
def test_body_must_be_an_object(body: Any) -> None:
    with pytest.raises(InvalidReport, match="must be an object"):
        parse_report(body, 1)


def test_json_column_too_large_for_devlake_text_is_refused() -> None:
    body = load("seed_report.json") | {"tools_used": ["t" * 200] * 400}
    with pytest.raises(InvalidReport, match=r"tools_used: is \d+ bytes as JSON"):
        parse_report(body, 1)


def test_nested_metrics_must_be_an_object() -> None:
    body = load("collector_report.json") | {"metrics": ["x"]}
    with pytest.raises(InvalidReport) as caught:
        parse_report(body, 1)
    assert caught.value.field == "metrics"
