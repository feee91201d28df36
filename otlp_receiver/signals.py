"""The three OTLP signals as data, so one HTTP handler and one gRPC servicer serve them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace

from bridge.mapping.otlp_mapping import MappingResult, map_logs, map_metrics


def _count_spans(request: Any) -> int:
    return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)


def _ignore_traces(request: Any, _connection_id: int) -> MappingResult:
    """devtel stores no traces; accepting them keeps a shared Collector pipeline green."""
    return MappingResult(ignored=_count_spans(request))


@dataclass(frozen=True)
class Signal:
    name: str
    path: str
    grpc_service: str
    request_type: type[Message]
    response_type: type[Message]
    partial_type: type[Message]
    rejected_field: str
    map: Callable[[Any, int], MappingResult]

    def response(self, result: MappingResult) -> Message:
        if not result.not_stored:
            return self.response_type()
        partial = self.partial_type(error_message=result.error_message())
        setattr(partial, self.rejected_field, result.not_stored)
        return self.response_type(partial_success=partial)


METRICS = Signal(
    "metrics",
    "/v1/metrics",
    "opentelemetry.proto.collector.metrics.v1.MetricsService",
    metrics.ExportMetricsServiceRequest,
    metrics.ExportMetricsServiceResponse,
    metrics.ExportMetricsPartialSuccess,
    "rejected_data_points",
    map_metrics,
)
LOGS = Signal(
    "logs",
    "/v1/logs",
    "opentelemetry.proto.collector.logs.v1.LogsService",
    logs.ExportLogsServiceRequest,
    logs.ExportLogsServiceResponse,
    logs.ExportLogsPartialSuccess,
    "rejected_log_records",
    map_logs,
)
TRACES = Signal(
    "traces",
    "/v1/traces",
    "opentelemetry.proto.collector.trace.v1.TraceService",
    trace.ExportTraceServiceRequest,
    trace.ExportTraceServiceResponse,
    trace.ExportTracePartialSuccess,
    "rejected_spans",
    _ignore_traces,
)
SIGNALS = (METRICS, LOGS, TRACES)
