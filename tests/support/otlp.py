"""Building devtel-shaped OTLP: with the real OpenTelemetry SDK exporters, and as raw protobuf
requests where a test must control the timestamps."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Gauge, Metric, NumberDataPoint

from agent import contract as c
from bridge.mapping.otlp_values import to_any_value, to_key_values


def developer_resource(developer: str, install: str, **extra: str) -> dict[str, str]:
    return {
        c.RES_SERVICE_NAME: c.SERVICE_NAME,
        c.RES_INSTANCE_ID: install,
        c.RES_DEVELOPER_ID: developer,
        c.RES_EMAIL: f"{developer}@example.com",
        c.RES_FULL_NAME: developer.title(),
        c.RES_HOST_NAME: f"{install}-host",
        c.RES_OS_TYPE: "linux",
        c.RES_OS_VERSION: "6.1",
        **extra,
    }


@dataclass
class DayFigures:
    """A day's metrics as the agent emits them: (metric, value, point attributes)."""

    date: str
    points: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)

    def active_hours(self, hours: int) -> DayFigures:
        self.points.append((c.M_ACTIVE_HOURS, hours, {}))
        return self

    def repository(self, name: str, commits: int, added: int, deleted: int, files: int) -> DayFigures:
        repo = {c.ATTR_REPOSITORY: name}
        self.points += [
            (c.M_COMMITS, commits, repo),
            (c.M_LINES, added, {**repo, c.ATTR_LINE_CHANGE_TYPE: c.LINE_ADDED}),
            (c.M_LINES, deleted, {**repo, c.ATTR_LINE_CHANGE_TYPE: c.LINE_REMOVED}),
            (c.M_FILES_CHANGED, files, repo),
        ]
        return self

    def commands(self, **counts: int) -> DayFigures:
        self.points += [(c.M_COMMANDS, n, {c.ATTR_COMMAND_CATEGORY: cat}) for cat, n in counts.items()]
        return self

    def tools(self, *names: str) -> DayFigures:
        self.points += [(c.M_TOOL_IN_USE, 1, {c.ATTR_TOOL: name}) for name in names]
        return self


def emit_with_sdk(figures: DayFigures, resource: Mapping[str, str], metric_exporter: Any) -> None:
    """Push the figures through a real MeterProvider and the given real OTLP exporter."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create(dict(resource)), metric_readers=[reader])
    meter = provider.get_meter(c.INSTRUMENTATION_SCOPE)
    gauges: dict[str, Any] = {}
    for name, value, attrs in figures.points:
        gauge = gauges.setdefault(name, meter.create_gauge(name, unit=c.UNITS.get(name, "1")))
        gauge.set(value, {c.ATTR_DATE: figures.date, **attrs})
    assert provider.force_flush(30_000)
    provider.shutdown()


def emit_summary_with_sdk(
    date: str, body: dict[str, Any], resource: Mapping[str, str], log_exporter: Any
) -> None:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    provider = LoggerProvider(resource=Resource.create(dict(resource)))
    provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    logger = provider.get_logger(c.INSTRUMENTATION_SCOPE)
    logger.emit(event_name=c.E_DAY_SUMMARY, body=body, attributes={c.ATTR_DATE: date})
    assert provider.force_flush(30_000)
    provider.shutdown()


def metrics_request(figures: DayFigures, resource: Mapping[str, str], time_ns: int | None = None) -> bytes:
    """The same figures as a raw request with a chosen observation time."""
    stamp = time_ns or time.time_ns()
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(to_key_values(resource))
    sm = rm.scope_metrics.add()
    sm.scope.name = c.INSTRUMENTATION_SCOPE
    by_name: dict[str, Metric] = {}
    for name, value, attrs in figures.points:
        metric = by_name.get(name)
        if metric is None:
            metric = sm.metrics.add(name=name, unit=c.UNITS.get(name, "1"), gauge=Gauge())
            by_name[name] = metric
        metric.gauge.data_points.append(
            NumberDataPoint(
                as_int=value,
                time_unix_nano=stamp,
                attributes=to_key_values({c.ATTR_DATE: figures.date, **attrs}),
            )
        )
    return request.SerializeToString()


def summary_request(
    date: str, body: dict[str, Any], resource: Mapping[str, str], time_ns: int | None = None
) -> bytes:
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.extend(to_key_values(resource))
    sl = rl.scope_logs.add()
    sl.log_records.append(
        LogRecord(
            time_unix_nano=time_ns or time.time_ns(),
            event_name=c.E_DAY_SUMMARY,
            body=to_any_value(body),
            attributes=to_key_values({c.ATTR_DATE: date}),
        )
    )
    return request.SerializeToString()
