"""OTLP requests to per-install day snapshots: pure functions, no I/O.

What is not devtel's (another service's metrics, unknown events) is skipped and counted, so
the receiver can answer 200 with ``partial_success`` instead of failing a shared pipeline.
The day is the ``devtel.date`` attribute, never the arrival time; the developer is the
``user.id`` resource attribute; the install is ``service.instance.id``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from agent import contract as c
from bridge.errors import InvalidReport
from bridge.mapping import ai_mapping
from bridge.mapping.command_stats import parse_command_stats
from bridge.mapping.installs import InstallSighting, sighting_from_event
from bridge.mapping.otlp_values import any_value, attributes
from bridge.mapping.snapshots import (
    ACTIVE,
    COMMAND_STATS,
    COMMANDS,
    FROM_METRICS,
    FROM_SUMMARY,
    IDENTITY,
    PROJECTS,
    REPOSITORIES,
    TOOLS,
    FieldSnapshot,
)
from bridge.mapping.validate import array_at, count_at, date_at, object_at, required_text_at, text_at
from bridge.schema.tables import VARCHAR_MAX_CHARS

DAY_METRICS = frozenset(
    {c.M_ACTIVE_HOURS, c.M_COMMITS, c.M_LINES, c.M_FILES_CHANGED, c.M_COMMANDS, c.M_TOOL_IN_USE}
)
BASE_EVENTS = frozenset({c.E_FIRST_SEEN, c.E_HEARTBEAT})
_MAX_MESSAGES = 5


@dataclass
class MappingResult:
    snapshots: list[FieldSnapshot] = field(default_factory=list)
    installs: list[InstallSighting] = field(default_factory=list)
    ai_points: list[ai_mapping.AiPoint] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    ignored: int = 0  # well-formed data that is not devtel's
    messages: list[str] = field(default_factory=list)

    def reject(self, count: int, message: str) -> None:
        self.rejected += count
        if message not in self.messages and len(self.messages) < _MAX_MESSAGES:
            self.messages.append(message)

    @property
    def to_store(self) -> list[FieldSnapshot | InstallSighting | ai_mapping.AiPoint]:
        return [*self.snapshots, *self.installs, *self.ai_points]

    @property
    def not_stored(self) -> int:
        return self.rejected + self.ignored

    def error_message(self) -> str:
        parts = list(self.messages)
        if self.ignored:
            parts.append(f"{self.ignored} item(s) were not devtel telemetry and were ignored")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Sender:
    """Who a resource is: the developer, the install, and the identity columns."""

    developer_id: str
    install_id: str
    identity: dict[str, str | None]


def sender_of(resource: dict[str, Any]) -> Sender:
    developer_id = resource.get(c.RES_DEVELOPER_ID)
    if developer_id is None:
        raise InvalidReport(f"resource.{c.RES_DEVELOPER_ID}", "is required for devtel telemetry")
    developer_id = required_text_at(developer_id, f"resource.{c.RES_DEVELOPER_ID}")
    install = resource.get(c.RES_INSTANCE_ID, "")
    install_id = text_at(install, f"resource.{c.RES_INSTANCE_ID}")
    os_parts = [str(resource[k]) for k in (c.RES_OS_TYPE, c.RES_OS_VERSION) if resource.get(k)]
    os_info = " ".join(os_parts)[:VARCHAR_MAX_CHARS] or None
    identity = {
        "email": _optional_text(resource, c.RES_EMAIL),
        "name": _optional_text(resource, c.RES_FULL_NAME),
        "hostname": _optional_text(resource, c.RES_HOST_NAME),
        "os_info": os_info,
    }
    return Sender(developer_id=developer_id, install_id=install_id, identity=identity)


def _optional_text(resource: dict[str, Any], key: str) -> str | None:
    value = resource.get(key)
    return None if value is None else text_at(value, f"resource.{key}")


def _date_of(attrs: dict[str, Any]) -> dt.date:
    return date_at(attrs.get(c.ATTR_DATE), c.ATTR_DATE)


def _whole(value: float | int, field_name: str) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidReport(field_name, "must be a finite number")
    return count_at(value, field_name, truncate_float=True)


@dataclass
class _MetricDay:
    """One install's day as its metrics describe it."""

    sender: Sender
    observed_at: int = 0
    active_hours: int | None = None
    repositories: dict[str, dict[str, int]] = field(default_factory=dict)
    commands: dict[str, int] | None = None
    tools: set[str] | None = None

    def snapshots(self, connection_id: int, date: dt.date) -> list[FieldSnapshot]:
        def snap(name: str, value: Any) -> FieldSnapshot:
            return FieldSnapshot(
                connection_id,
                self.sender.developer_id,
                date,
                self.sender.install_id,
                name,
                FROM_METRICS,
                self.observed_at,
                value,
            )

        out = [snap(IDENTITY, self.sender.identity)]
        if self.active_hours is not None:
            out.append(snap(ACTIVE, {"active_hours": self.active_hours}))
        if self.repositories:
            out.append(snap(REPOSITORIES, self.repositories))
        if self.commands is not None:
            out.append(snap(COMMANDS, self.commands))
        if self.tools is not None:
            out.append(snap(TOOLS, sorted(self.tools)))
        return out


def _apply_point(day: _MetricDay, name: str, attrs: dict[str, Any], value: int) -> None:
    if name == c.M_ACTIVE_HOURS:
        day.active_hours = value
        return
    if name == c.M_COMMANDS:
        category = text_at(attrs.get(c.ATTR_COMMAND_CATEGORY), c.ATTR_COMMAND_CATEGORY, max_chars=64)
        day.commands = {**(day.commands or {}), category: value}
        return
    if name == c.M_TOOL_IN_USE:
        tool = text_at(attrs.get(c.ATTR_TOOL), c.ATTR_TOOL)
        day.tools = day.tools or set()
        if value:
            day.tools.add(tool)
        return
    repo = day.repositories.setdefault(text_at(attrs.get(c.ATTR_REPOSITORY), c.ATTR_REPOSITORY), {})
    if name == c.M_COMMITS:
        repo["commits"] = value
    elif name == c.M_FILES_CHANGED:
        repo["files_changed"] = value
    else:
        change = attrs.get(c.ATTR_LINE_CHANGE_TYPE)
        if change not in (c.LINE_ADDED, c.LINE_REMOVED):
            raise InvalidReport(c.ATTR_LINE_CHANGE_TYPE, f"must be {c.LINE_ADDED!r} or {c.LINE_REMOVED!r}")
        repo["lines_added" if change == c.LINE_ADDED else "lines_deleted"] = value


def _number_points(metric: Any) -> Iterable[Any]:
    kind = metric.WhichOneof("data")
    if kind in ("gauge", "sum"):
        return getattr(metric, kind).data_points
    return ()


def _point_count(metric: Any) -> int:
    kind = metric.WhichOneof("data")
    return len(getattr(metric, kind).data_points) if kind else 0


def map_metrics(request: ExportMetricsServiceRequest, connection_id: int) -> MappingResult:
    result = MappingResult()
    days: dict[tuple[str, str, dt.date], _MetricDay] = {}
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        sender: Sender | None = None
        for scope_metrics in resource_metrics.scope_metrics:
            ai_context: ai_mapping.MetricContext | None = None
            for metric in scope_metrics.metrics:
                if ai_mapping.is_mapped(metric.name):
                    ai_context = ai_context or ai_mapping.context(
                        connection_id, resource, scope_metrics.scope.name
                    )
                    _map_ai_metric(result, ai_context, metric)
                    continue
                if metric.name not in DAY_METRICS or metric.WhichOneof("data") not in ("gauge", "sum"):
                    result.ignored += _point_count(metric)
                    continue
                try:
                    sender = sender or sender_of(resource)
                except InvalidReport as exc:
                    result.reject(_point_count(metric), str(exc))
                    continue
                for point in _number_points(metric):
                    try:
                        attrs = attributes(point.attributes)
                        date = _date_of(attrs)
                        raw = point.as_int if point.WhichOneof("value") == "as_int" else point.as_double
                        value = _whole(raw, metric.name)
                        day = days.setdefault(
                            (sender.install_id, sender.developer_id, date), _MetricDay(sender)
                        )
                        _apply_point(day, metric.name, attrs, value)
                        day.observed_at = max(day.observed_at, point.time_unix_nano)
                        result.accepted += 1
                    except InvalidReport as exc:
                        result.reject(1, f"{metric.name}: {exc}")
    for (_, _, date), day in days.items():
        result.snapshots.extend(day.snapshots(connection_id, date))
    return result


def _map_ai_metric(result: MappingResult, ai_context: ai_mapping.MetricContext, metric: Any) -> None:
    """An AI assistant's metric (issue 6): its points go to the AI table, not the day row."""
    points, errors = ai_mapping.metric_points(ai_context, metric)
    result.ai_points.extend(points)
    result.accepted += _point_count(metric) - len(errors)
    for message in errors:
        result.reject(1, message)


def _map_ai_event(
    result: MappingResult, connection_id: int, resource: dict[str, Any], scope: str, name: str,
    record: Any, attrs: dict[str, Any],
) -> None:
    """An AI assistant's event (Codex's patch approvals): its points go to the AI table."""
    try:
        ctx = ai_mapping.context(connection_id, resource, scope)
        result.ai_points.extend(ai_mapping.event_points(ctx, name, record, attrs))
        result.accepted += 1
    except InvalidReport as exc:
        result.reject(1, f"{name}: {exc}")


def _summary_fields(body: Any) -> list[tuple[str, Any]]:
    """The day-summary body's parts, validated, as (field, value) pairs."""
    summary = object_at(body, "body")
    fields: list[tuple[str, Any]] = []
    hours = summary.get(c.BODY_ACTIVE_CLOCK_HOURS)
    if hours is not None:
        clock = sorted(
            {count_at(h, c.BODY_ACTIVE_CLOCK_HOURS) for h in array_at(hours, c.BODY_ACTIVE_CLOCK_HOURS)}
        )
        fields.append((ACTIVE, {"active_clock_hours": clock, "active_hours": len(clock)}))
    git = summary.get(c.BODY_GIT_ACTIVITY)
    if git is not None:
        fields.append((REPOSITORIES, _summary_repositories(object_at(git, c.BODY_GIT_ACTIVITY))))
    development = summary.get(c.BODY_DEVELOPMENT_ACTIVITY)
    if development is not None:
        counts: dict[str, int] = {}
        for key, count in object_at(development, c.BODY_DEVELOPMENT_ACTIVITY).items():
            category = c.command_category(key)
            if category is not None:
                counts[category] = count_at(count, f"{c.BODY_DEVELOPMENT_ACTIVITY}.{key}")
        fields.append((COMMANDS, counts))
    tools = summary.get(c.BODY_TOOLS_USED)
    if tools is not None:
        fields.append(
            (TOOLS, sorted({text_at(t, c.BODY_TOOLS_USED) for t in array_at(tools, c.BODY_TOOLS_USED)}))
        )
    stats = summary.get(c.BODY_COMMAND_STATS)
    if stats is not None:
        fields.append((COMMAND_STATS, parse_command_stats(stats)))
    projects = summary.get(c.BODY_PROJECT_CONTEXT)
    if projects is not None:
        fields.append(
            (PROJECTS, [_summary_project(p, i) for i, p in enumerate(array_at(projects, "projects"))])
        )
    return fields


def _summary_repositories(git: dict[str, Any]) -> dict[str, dict[str, Any]]:
    repositories: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(array_at(git.get("repositories", []), "git_activity.repositories")):
        where = f"git_activity.repositories[{index}]"
        repo = object_at(raw, where)
        entry: dict[str, Any] = {
            key: count_at(repo.get(key, 0), f"{where}.{key}")
            for key in ("commits", "lines_added", "lines_deleted", "files_changed")
        }
        if repo.get("path") is not None:
            entry["path"] = text_at(repo["path"], f"{where}.path", max_chars=4096)
        entry["branches_worked"] = [
            text_at(b, f"{where}.branches_worked") for b in array_at(repo.get("branches_worked", []), where)
        ]
        if repo.get(c.REPO_COMMIT_IDS) is not None:
            entry[c.REPO_COMMIT_IDS] = [
                text_at(i, f"{where}.{c.REPO_COMMIT_IDS}", max_chars=128)
                for i in array_at(repo[c.REPO_COMMIT_IDS], f"{where}.{c.REPO_COMMIT_IDS}")
            ]
        if repo.get(c.REPO_ID) is not None:
            entry[c.REPO_ID] = text_at(repo[c.REPO_ID], f"{where}.{c.REPO_ID}", max_chars=128)
        if repo.get(c.REPO_COMMITS_DETAIL) is not None:
            entry[c.REPO_COMMITS_DETAIL] = [
                _commit_detail(d, f"{where}.{c.REPO_COMMITS_DETAIL}[{n}]")
                for n, d in enumerate(array_at(repo[c.REPO_COMMITS_DETAIL], where))
            ]
        repositories[text_at(repo.get("name"), f"{where}.name")] = entry
    return repositories


def _commit_detail(raw: Any, where: str) -> dict[str, Any]:
    detail = object_at(raw, where)
    out: dict[str, Any] = {"id": text_at(detail.get("id"), f"{where}.id", max_chars=128)}
    for key in ("lines_added", "lines_deleted", "files_changed"):
        out[key] = count_at(detail.get(key, 0), f"{where}.{key}")
    return out


def _summary_project(raw: Any, index: int) -> dict[str, Any]:
    where = f"project_context[{index}]"
    project = object_at(raw, where)
    out: dict[str, Any] = {"name": text_at(project.get("name"), f"{where}.name")}
    if project.get("path") is not None:
        out["path"] = text_at(project["path"], f"{where}.path", max_chars=4096)
    if project.get("last_activity") is not None:
        out["last_activity"] = text_at(project["last_activity"], f"{where}.last_activity", max_chars=64)
    return out


def event_name(record: Any, attrs: dict[str, Any]) -> str:
    """SDKs since the Events API was removed set event_name; older ones an event.name attribute."""
    return record.event_name or str(attrs.get("event.name", ""))


def map_logs(request: ExportLogsServiceRequest, connection_id: int) -> MappingResult:
    result = MappingResult()
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                attrs = attributes(record.attributes)
                name = event_name(record, attrs)
                if name in BASE_EVENTS:
                    try:
                        result.installs.append(
                            sighting_from_event(connection_id, resource, attrs, record.time_unix_nano)
                        )
                        result.accepted += 1
                    except InvalidReport as exc:
                        result.reject(1, f"{name}: {exc}")
                    continue
                ai_event = ai_mapping.mapped_event(name, attrs)
                if ai_event is not None:
                    scope = scope_logs.scope.name
                    _map_ai_event(result, connection_id, resource, scope, ai_event, record, attrs)
                    continue
                if name != c.E_DAY_SUMMARY:
                    result.ignored += 1
                    continue
                try:
                    sender = sender_of(resource)
                    date = _date_of(attrs)
                    observed = record.time_unix_nano or record.observed_time_unix_nano
                    fields = [(IDENTITY, sender.identity), *_summary_fields(any_value(record.body))]
                except InvalidReport as exc:
                    result.reject(1, f"{c.E_DAY_SUMMARY}: {exc}")
                    continue
                result.accepted += 1
                result.snapshots.extend(
                    FieldSnapshot(
                        connection_id,
                        sender.developer_id,
                        date,
                        sender.install_id,
                        name,
                        FROM_SUMMARY,
                        observed,
                        value,
                    )
                    for name, value in fields
                )
    return result
