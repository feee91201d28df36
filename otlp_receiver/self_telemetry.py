"""The receiver watched with the tools it serves: its own traces and metrics over OTLP.

Only when DEVTEL_SELF_TELEMETRY=true opts in and the standard OTEL_* variables name an endpoint
(and OTEL_SDK_DISABLED is not true). The opt-in is what keeps a developer's own OTEL_* settings,
exported for their other tools, from sending the receiver's traces anywhere during `make demo` or
the tests. The exporters, protocol, headers and intervals are the SDK's own, read from OTEL_*.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger("devtel.receiver")
_ENDPOINT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)
_SERVICE_NAME = "devtel-receiver"
OPT_IN_ENV = "DEVTEL_SELF_TELEMETRY"


def requested() -> bool:
    if os.environ.get(OPT_IN_ENV, "").strip().lower() != "true":
        return False
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)


def _exporters() -> tuple[Any, Any]:
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").strip().lower()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    elif protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: the receiver exports http/protobuf or grpc"
        )
    return OTLPSpanExporter(), OTLPMetricExporter()


def instrument(app: Any, engine: Engine) -> Any:
    """Wrap the ASGI app and the engine; returns the app to serve (unchanged when not requested)."""
    if not requested():
        return app
    from opentelemetry import metrics, trace
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    os.environ.setdefault("OTEL_SERVICE_NAME", _SERVICE_NAME)
    resource = Resource.create()
    span_exporter, metric_exporter = _exporters()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    meter_provider = MeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter)]
    )
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    SQLAlchemyInstrumentor().instrument(
        engine=engine, tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    log.info("exporting the receiver's own traces and metrics over OTLP")
    return OpenTelemetryMiddleware(app, tracer_provider=tracer_provider, meter_provider=meter_provider)


def shutdown() -> None:
    """Flush what the receiver recorded about itself before the process ends."""
    if not requested():
        return
    from opentelemetry import metrics, trace

    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        stop = getattr(provider, "shutdown", None)
        if stop is not None:
            stop()
