"""The legacy DevLake report body, in both formats found in the field, parsed into a DeveloperDay.

1. flat (the seed document): developer_id, email, ..., git_activity, ... at the top level;
2. nested (the deployed collector): {date, developer, ..., metrics: {active_hours, projects, ...}}.

Every version of the deployed collector sends ``metrics.projects`` as a list of directory names
(strings); the seed's example uses objects. Both are kept as sent in ``project_context``. Older
collectors also sent ``metrics.commands`` (command -> count) and ``os_info``: the first is
ignored, as DevLake ignores it, the second kept. ``null`` reads as absent wherever DevLake's
decoder would leave a zero value. Unknown keys are ignored; known keys are checked for type and
size so that nothing a client sends can fail later inside the database. A 400 for a shape the
collector really sends loses that day for good (it never retries a 4xx), hence the leniency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.errors import InvalidReport
from bridge.mapping.day import DeveloperDay
from bridge.mapping.validate import (
    array_at,
    count_at,
    date_at,
    describe,
    free_json_at,
    object_at,
    optional_text_at,
    required_text_at,
    text_at,
)
from bridge.schema.tables import JSON_COLUMN_MAX_BYTES, VARCHAR_MAX_CHARS, dump_json

MAX_ACTIVE_HOURS = 2**31 - 1


def parse_report(body: Any, connection_id: int) -> DeveloperDay:
    """Validate a decoded JSON body and build the row it asks for."""
    report = object_at(body, "body")
    if "metrics" in report or ("developer" in report and "developer_id" not in report):
        return _parse_nested(report, connection_id)
    return _parse_flat(report, connection_id)


def _parse_flat(report: dict[str, Any], connection_id: int) -> DeveloperDay:
    return _build_day(
        connection_id,
        identity=report,
        developer_field="developer_id",
        values=report,
        prefix="",
        projects_field="project_context",
    )


def _parse_nested(report: dict[str, Any], connection_id: int) -> DeveloperDay:
    raw_metrics = report.get("metrics")
    metrics = {} if raw_metrics is None else object_at(raw_metrics, "metrics")
    return _build_day(
        connection_id,
        identity=report,
        developer_field="developer",
        values=metrics,
        prefix="metrics.",
        projects_field="projects",
    )


def _build_day(
    connection_id: int,
    *,
    identity: dict[str, Any],
    developer_field: str,
    values: dict[str, Any],
    prefix: str,
    projects_field: str,
) -> DeveloperDay:
    hours = values.get("active_hours")
    active_hours = 0 if hours is None else count_at(hours, prefix + "active_hours", truncate_float=True)
    if active_hours > MAX_ACTIVE_HOURS:
        raise InvalidReport(prefix + "active_hours", f"is too large ({active_hours})")
    return DeveloperDay(
        connection_id=connection_id,
        developer_id=required_text_at(identity.get(developer_field), developer_field),
        date=date_at(identity.get("date"), "date"),
        email=optional_text_at(identity.get("email"), "email"),
        name=optional_text_at(identity.get("name"), "name"),
        hostname=optional_text_at(identity.get("hostname"), "hostname"),
        os_info=_os_info(identity.get("os_info")),
        active_hours=active_hours,
        git_activity=_json_column(values.get("git_activity"), prefix + "git_activity", _check_git_activity),
        development_activity=_json_column(
            values.get("development_activity"), prefix + "development_activity", _check_counts
        ),
        tools_used=_json_column(values.get("tools_used"), prefix + "tools_used", _check_tools),
        project_context=_json_column(values.get(projects_field), prefix + projects_field, _check_projects),
    )


def _os_info(value: Any) -> str | None:
    """Descriptive only: a string as sent, an object as its values joined; cut to the column."""
    if isinstance(value, dict):
        value = " ".join(str(v) for v in value.values() if v is not None and not isinstance(v, (dict, list)))
    if not isinstance(value, str) or not value.strip():
        return None
    return text_at(value[:VARCHAR_MAX_CHARS], "os_info")


def _json_column(value: Any, field: str, check: Callable[[Any, str], None]) -> Any:
    if value is None:
        return None
    check(value, field)
    free_json_at(value, field)
    try:
        size = len(dump_json(value).encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidReport(field, "holds an unpaired UTF-16 surrogate escape") from None
    if size > JSON_COLUMN_MAX_BYTES:
        raise InvalidReport(field, f"is {size} bytes as JSON; at most {JSON_COLUMN_MAX_BYTES} fit")
    return value


def _check_counts(value: Any, field: str) -> None:
    for key, count in object_at(value, field).items():
        if count is not None:
            count_at(count, f"{field}.{key}")


def _check_git_activity(value: Any, field: str) -> None:
    activity = object_at(value, field)
    for key in ("total_commits", "total_lines_added", "total_lines_deleted", "total_files_changed"):
        if activity.get(key) is not None:
            count_at(activity[key], f"{field}.{key}")
    repositories = activity.get("repositories")
    if repositories is None:
        return
    for index, repo in enumerate(array_at(repositories, f"{field}.repositories")):
        where = f"{field}.repositories[{index}]"
        repo = object_at(repo, where)
        text_at(repo.get("name"), f"{where}.name")
        if repo.get("path") is not None:
            text_at(repo["path"], f"{where}.path", max_chars=4096)
        for key in ("commits", "lines_added", "lines_deleted", "files_changed"):
            if repo.get(key) is not None:
                count_at(repo[key], f"{where}.{key}")
        if repo.get("branches_worked") is not None:
            for position, branch in enumerate(array_at(repo["branches_worked"], f"{where}.branches_worked")):
                text_at(branch, f"{where}.branches_worked[{position}]")


def _check_tools(value: Any, field: str) -> None:
    for index, tool in enumerate(array_at(value, field)):
        text_at(tool, f"{field}[{index}]")


def _check_projects(value: Any, field: str) -> None:
    """Directory names (what the collector sends) or objects (the seed's example)."""
    for index, project in enumerate(array_at(value, field)):
        where = f"{field}[{index}]"
        if isinstance(project, str):
            text_at(project, where)
            continue
        if not isinstance(project, dict):
            raise InvalidReport(where, f"must be a project name or an object, got {describe(project)}")
        text_at(project.get("name"), f"{where}.name")
        if project.get("path") is not None:
            text_at(project["path"], f"{where}.path", max_chars=4096)
        if project.get("last_activity") is not None:
            text_at(project["last_activity"], f"{where}.last_activity", max_chars=64)


def to_flat_report(day: DeveloperDay) -> dict[str, Any]:
    """The seed's flat body for a day: what the fake team posts and what the parser reads back."""
    body: dict[str, Any] = {"developer_id": day.developer_id}
    for key in ("email", "name", "hostname"):
        if getattr(day, key) is not None:
            body[key] = getattr(day, key)
    body["date"] = day.date.isoformat()
    body["active_hours"] = day.active_hours
    for key in ("git_activity", "development_activity", "tools_used", "project_context"):
        if getattr(day, key) is not None:
            body[key] = getattr(day, key)
    if day.os_info is not None:
        body["os_info"] = day.os_info
    return body
