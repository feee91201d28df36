"""Turns a day, a base-telemetry event or the agent's own cost into OTLP requests, using the
OpenTelemetry SDK's MeterProvider and LoggerProvider.

Each export is built by a fresh provider and captured as an ``Export*ServiceRequest`` instead
of being sent: the sender ships it from the durable outbox, so the SDK's own exporters (which
drop data after ~10 s of retries) never decide whether anything arrives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, MetricsData
from opentelemetry.sdk.resources import Resource

from agent import contract as C
from agent.day import DayReport
from agent.identity import Identity
from agent.shell import summary as shell_summary

KIND_DAY, KIND_FIRST_SEEN, KIND_HEARTBEAT, KIND_CONSENT, KIND_AGENT = (
    "day",
    "first_seen",
    "heartbeat",
    "consent",
    "agent",
)
Points = list[tuple[float, dict[str, str]]]
# Seconds: from a quick `ls` to a long CI-like test run.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


@dataclass(frozen=True)
class Export:
    """One unit the outbox stores per sink; ``key`` decides what a newer export supersedes."""

    kind: str
    key: str
    level: str  # the consent class: "base" or "detailed"
    metrics: ExportMetricsServiceRequest | None = None
    logs: ExportLogsServiceRequest | None = None
    report: dict[str, Any] | None = None  # the legacy DevLake body; day exports only


class _Capture(LogRecordExporter):
    """Keeps the records a LoggerProvider emits, so they can be encoded instead of sent."""

    def __init__(self) -> None:
        self.records: list[ReadableLogRecord] = []

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.records.extend(batch)
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 0) -> bool:
        return True


def _logs(resource: Resource, events: Iterable[tuple[str, Any, dict[str, Any]]]) -> ExportLogsServiceRequest:
    capture = _Capture()
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(SimpleLogRecordProcessor(capture))  # in-memory: never blocks
    logger = provider.get_logger(C.INSTRUMENTATION_SCOPE)
    now = time.time_ns()
    for name, body, attributes in events:
        uid = hashlib.sha256(
            json.dumps([name, body, attributes], sort_keys=True, default=str).encode()
        ).hexdigest()
        logger.emit(
            timestamp=now, event_name=name, body=body, attributes={**attributes, C.ATTR_RECORD_UID: uid[:32]}
        )
    provider.shutdown()
    return encode_logs(capture.records)


# The gauges' callbacks only hand back numbers computed beforehand, so a collection has nothing
# to wait for. The SDK's default 10 s deadline would instead turn a laptop suspended (or a process
# starved of CPU) in the middle of one into MetricsTimeoutError, which stops `devtel-agent run`.
_NO_DEADLINE_MS = math.inf


class _Snapshot(MetricReader):
    """Collects once, on demand, with no deadline (see ``_NO_DEADLINE_MS``)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: MetricsData | None = None

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 0, **kwargs: Any) -> None:
        self.data = metrics_data

    def shutdown(self, timeout_millis: float = 0, **kwargs: Any) -> None:
        """Holds nothing to release."""


def _metrics(resource: Resource, build: Callable[[Meter], None]) -> ExportMetricsServiceRequest:
    reader = _Snapshot()
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    build(provider.get_meter(C.INSTRUMENTATION_SCOPE))
    reader.collect(timeout_millis=_NO_DEADLINE_MS)
    provider.shutdown(timeout_millis=_NO_DEADLINE_MS)
    return encode_metrics(reader.data)


def _observe(points: Points) -> Callable[[CallbackOptions], list[Observation]]:
    return lambda _options: [Observation(value, attrs) for value, attrs in points]


def _gauges(meter: Meter, series: dict[str, Points], units: dict[str, str]) -> None:
    for name, points in series.items():
        if points:
            meter.create_observable_gauge(name, callbacks=[_observe(points)], unit=units.get(name, "1"))


def gauges_export(
    kind: str, key: str, series: dict[str, Points], units: dict[str, str], resource: Resource
) -> Export:
    """Detailed full-day gauges under one outbox key (the AI totals of `devtel-agent ai record`)."""
    return Export(
        kind, key, "detailed", metrics=_metrics(resource, lambda meter: _gauges(meter, series, units))
    )


def private_day(day: DayReport, allow_paths: bool) -> DayReport:
    """The day as it may leave: repository and project paths only where the policy allows them."""
    if allow_paths:
        return day
    return dataclasses.replace(
        day,
        repositories=[dataclasses.replace(r, path=None) for r in day.repositories],
        projects=[dataclasses.replace(p, path=None) for p in day.projects],
    )


def day_series(day: DayReport) -> dict[str, Points]:
    """Full-day totals as gauge points, every one keyed by the local date."""
    date = {C.ATTR_DATE: day.date.isoformat()}
    series: dict[str, Points] = {
        C.M_ACTIVE_HOURS: [(day.active_hours, date)],
        C.M_ACTIVE_MINUTES: [(day.active_minutes, date)],
        C.M_COMMITS: [],
        C.M_LINES: [],
        C.M_FILES_CHANGED: [],
        C.M_COMMANDS: [],
        C.M_TOOL_IN_USE: [],
    }
    for repo in sorted(day.repositories, key=lambda r: r.name):
        attrs = {**date, C.ATTR_REPOSITORY: repo.name}
        series[C.M_COMMITS].append((repo.commits, attrs))
        series[C.M_FILES_CHANGED].append((repo.files_changed, attrs))
        series[C.M_LINES].append((repo.lines_added, {**attrs, C.ATTR_LINE_CHANGE_TYPE: C.LINE_ADDED}))
        series[C.M_LINES].append((repo.lines_deleted, {**attrs, C.ATTR_LINE_CHANGE_TYPE: C.LINE_REMOVED}))
    for category, count in sorted(day.command_counts.items()):
        series[C.M_COMMANDS].append((count, {**date, C.ATTR_COMMAND_CATEGORY: category}))
    for tool in sorted(day.tools_used):
        series[C.M_TOOL_IN_USE].append((1, {**date, C.ATTR_TOOL: tool}))
    return series


def day_summary(day: DayReport) -> dict[str, Any]:
    """The structured parts of the day (the ``devtel.day.summary`` body)."""
    shapes = day.to_devlake()
    by_name = {r.name: r for r in day.repositories}
    for repo in shapes["git_activity"]["repositories"]:
        activity = by_name[repo["name"]]
        repo[C.REPO_COMMIT_IDS] = sorted(activity.commit_ids)
        if activity.id is not None:
            repo[C.REPO_ID] = activity.id
        if activity.commit_details:
            repo[C.REPO_COMMITS_DETAIL] = [
                dataclasses.asdict(c) for c in sorted(activity.commit_details, key=lambda c: c.id)
            ]
    body = {
        C.BODY_ACTIVE_CLOCK_HOURS: sorted(day.active_clock_hours),
        C.BODY_GIT_ACTIVITY: shapes["git_activity"],
        C.BODY_DEVELOPMENT_ACTIVITY: shapes["development_activity"],
        C.BODY_TOOLS_USED: shapes["tools_used"],
        C.BODY_PROJECT_CONTEXT: shapes["project_context"],
    }
    if day.commands:
        body[C.BODY_COMMAND_STATS] = shell_summary.stats(day.commands)
    return body


def _command_durations(meter: Meter, day: DayReport) -> None:
    """The day's commands as one histogram; a fresh provider per export makes it the full day."""
    if not day.commands:
        return
    histogram = meter.create_histogram(
        C.M_COMMAND_DURATION,
        unit=C.UNITS[C.M_COMMAND_DURATION],
        explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
    )
    for command in day.commands:
        histogram.record(
            command.duration_s,
            {
                C.ATTR_DATE: day.date.isoformat(),
                C.ATTR_COMMAND_CATEGORY: command.category,
                C.ATTR_TOOL: command.tool,
                C.ATTR_COMMAND_OUTCOME: command.outcome,
                C.ATTR_REPOSITORY: command.repository,
            },
        )


def legacy_report(day: DayReport, identity: Identity) -> dict[str, Any]:
    """The nested body the deployed DevLake collector sends (the one DevLake's handler accepts)."""
    shapes = day.to_devlake()
    report: dict[str, Any] = {"date": day.date.isoformat(), "developer": identity.developer_id}
    if identity.email:
        report["email"] = identity.email
    if identity.name:
        report["name"] = identity.name
    report["hostname"] = identity.hostname
    report["metrics"] = {
        "active_hours": shapes["active_hours"],
        "tools_used": shapes["tools_used"],
        "projects": shapes["project_context"],
        "git_activity": shapes["git_activity"],
        "development_activity": shapes["development_activity"],
    }
    return report


def day_key(date: dt.date) -> str:
    """The outbox key of a day: a newer snapshot replaces an unsent older one."""
    return f"day:{date.isoformat()}"


def day_export(day: DayReport, identity: Identity, resource: Resource) -> Export:
    series = day_series(day)
    date = {C.ATTR_DATE: day.date.isoformat()}
    return Export(
        KIND_DAY,
        day_key(day.date),
        "detailed",
        metrics=_metrics(
            resource, lambda meter: (_gauges(meter, series, C.UNITS), _command_durations(meter, day))
        ),
        logs=_logs(
            resource,
            [
                (C.E_DAY_SUMMARY, day_summary(day), date),
                *((C.E_COMMAND, None, attrs) for attrs in shell_summary.events(day.date, day.commands)),
            ],
        ),
        report=legacy_report(day, identity),
    )


def base_event(kind: str, fields: dict[str, str], resource: Resource) -> Export:
    """first_seen or heartbeat: the fixed base schema and nothing else."""
    name = C.E_FIRST_SEEN if kind == KIND_FIRST_SEEN else C.E_HEARTBEAT
    key = kind if kind == KIND_FIRST_SEEN else f"{kind}:{fields['heartbeat_at'][:10]}"
    attrs = {f: fields[f] for f in C.BASE_FIELDS}
    return Export(kind, key, "base", logs=_logs(resource, [(name, None, attrs)]))


def consent_granted(previous: str, resource: Resource) -> Export:
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    attrs = {C.ATTR_CONSENT_LEVEL: "detailed", C.ATTR_CONSENT_PREVIOUS: previous}
    return Export(
        KIND_CONSENT,
        f"consent:{stamp}",
        "detailed",
        logs=_logs(resource, [(C.E_CONSENT_GRANTED, None, attrs)]),
    )


@dataclass(frozen=True)
class AgentCost:
    """The agent's own footprint, as ``devtel.agent.*`` metrics report it."""

    rss_bytes: int
    cpu_seconds: float
    sinks: dict[str, dict[str, float]]  # sink -> depth, age, sent, failed, dropped


def agent_export(cost: AgentCost, resource: Resource) -> Export:
    def build(meter: Meter) -> None:
        gauges: dict[str, Points] = {
            C.M_AGENT_RSS: [(cost.rss_bytes, {})],
            C.M_AGENT_OUTBOX_DEPTH: [(s["depth"], {C.ATTR_SINK: n}) for n, s in cost.sinks.items()],
            C.M_AGENT_OUTBOX_AGE: [(s["age"], {C.ATTR_SINK: n}) for n, s in cost.sinks.items()],
        }
        _gauges(
            meter,
            gauges,
            {C.M_AGENT_RSS: "By", C.M_AGENT_OUTBOX_DEPTH: "{export}", C.M_AGENT_OUTBOX_AGE: "s"},
        )
        meter.create_observable_counter(C.M_AGENT_CPU, [_observe([(cost.cpu_seconds, {})])], unit="s")
        sends = [
            (s[r], {C.ATTR_SINK: n, C.ATTR_RESULT: r})
            for n, s in cost.sinks.items()
            for r in ("sent", "failed")
        ]
        meter.create_observable_counter(C.M_AGENT_SENDS, [_observe(sends)], unit="{send}")
        dropped = [(s["dropped"], {C.ATTR_SINK: n}) for n, s in cost.sinks.items()]
        meter.create_observable_counter(C.M_AGENT_OUTBOX_DROPPED, [_observe(dropped)], unit="{export}")

    return Export(KIND_AGENT, KIND_AGENT, "detailed", metrics=_metrics(resource, build))
