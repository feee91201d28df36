"""AI assistants as they send OTLP: one simulated process of Claude Code or Gemini CLI, built with the
real OpenTelemetry SDK, with exactly the metric names, units, attributes and temporalities those tools
document. A process can export through a real OTLP exporter or hand over its encoded request, so a
test can post the same bytes twice."""

from __future__ import annotations

from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from tests.support.db import fetch

DELTA, CUMULATIVE = AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE


def temporality(kind: AggregationTemporality) -> dict[type, AggregationTemporality]:
    return {Counter: kind, Histogram: kind}


def claude_resource() -> dict[str, str]:
    return {
        "service.name": "claude-code",
        "service.version": "1.0.98",
        "os.type": "linux",
        "os.version": "6.1.0",
        "host.arch": "amd64",
    }


def claude_attrs(email: str, session: str) -> dict[str, str]:
    """The standard attributes Claude Code puts on every metric point."""
    return {
        "session.id": session,
        "app.version": "1.0.98",
        "organization.id": "org-7f3a",
        "user.account_uuid": f"uuid-{email}",
        "user.email": email,
        "terminal.type": "vscode",
    }


def gemini_resource() -> dict[str, str]:
    return {"service.name": "gemini-cli", "service.version": "0.5.1"}


def gemini_attrs(email: str, session: str) -> dict[str, str]:
    return {"session.id": session, "installation.id": f"inst-{email}", "user.email": email}


class ToolProcess:
    """One run of an AI CLI: its own MeterProvider (so its own start time), its own counters."""

    def __init__(
        self,
        resource: dict[str, str],
        scope: str,
        kind: AggregationTemporality = DELTA,
        exporter: MetricExporter | None = None,
    ) -> None:
        self.exporting = exporter is not None
        if exporter is not None:
            self.reader: Any = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        else:
            self.reader = InMemoryMetricReader(preferred_temporality=temporality(kind))
        self.provider = MeterProvider(resource=Resource.create(resource), metric_readers=[self.reader])
        self.meter = self.provider.get_meter(scope)
        self.instruments: dict[str, Any] = {}

    def add(self, name: str, value: float, attrs: dict[str, Any], unit: str = "count") -> None:
        if name not in self.instruments:
            self.instruments[name] = self.meter.create_counter(name, unit=unit)
        self.instruments[name].add(value, attrs)

    def record(self, name: str, value: float, attrs: dict[str, Any], unit: str = "ms") -> None:
        if name not in self.instruments:
            self.instruments[name] = self.meter.create_histogram(name, unit=unit)
        self.instruments[name].record(value, attrs)

    def request(self) -> bytes:
        """Collect now and return the request the tool's exporter would send."""
        return encode_metrics(self.reader.get_metrics_data()).SerializeToString()

    def flush(self) -> None:
        assert self.exporting and self.provider.force_flush(30_000)

    def close(self) -> None:
        self.provider.shutdown()


def claude_session(process: ToolProcess, email: str, session: str) -> None:
    """A short Claude Code session: 120 lines written, 30 removed, four edits decided in Python
    (three accepted) and one accepted in TypeScript, 1500 tokens, 0.42 USD."""
    std = claude_attrs(email, session)
    process.add("claude_code.session.count", 1, std)
    process.add("claude_code.lines_of_code.count", 120, {**std, "type": "added"})
    process.add("claude_code.lines_of_code.count", 30, {**std, "type": "removed"})
    edit = {**std, "tool": "Edit", "source": "user_temporary"}
    process.add(
        "claude_code.code_edit_tool.decision", 3, {**edit, "decision": "accept", "language": "Python"}
    )
    process.add(
        "claude_code.code_edit_tool.decision", 1, {**edit, "decision": "reject", "language": "Python"}
    )
    process.add(
        "claude_code.code_edit_tool.decision", 1, {**edit, "decision": "accept", "language": "TypeScript"}
    )
    model = {**std, "model": "claude-sonnet-4"}
    process.add("claude_code.token.usage", 1000, {**model, "type": "input"}, unit="tokens")
    process.add("claude_code.token.usage", 500, {**model, "type": "output"}, unit="tokens")
    process.add("claude_code.cost.usage", 0.42, model, unit="USD")
    process.add("claude_code.commit.count", 1, std)
    process.add("claude_code.active_time.total", 300.0, std, unit="s")


def ai_rows(db_url: str, connection_id: int, developer: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The developer's AI rows, keyed (tool, language, feature), values rounded to 6 places."""
    sql = "SELECT * FROM _tool_developer_ai_metrics WHERE connection_id = :c AND developer_id = :d"
    found = fetch(db_url, sql, c=connection_id, d=developer)
    rows = {}
    for row in found:
        record = row._asdict()
        key = (record.pop("tool"), record.pop("language"), record.pop("feature"))
        for name in ("connection_id", "developer_id", "updated_at"):
            record.pop(name)
        record["date"] = str(record["date"])  # SQLite hands dates back as text, MariaDB as dates
        rows[key] = {k: round(v, 6) if isinstance(v, float) else v for k, v in record.items()}
    return rows
