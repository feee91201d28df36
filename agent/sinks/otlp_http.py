"""OTLP over HTTP: http/protobuf (the default) or http/json, to ``<endpoint>/v1/<signal>``."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from agent.config import SinkConfig
from agent.emit import Export
from agent.sinks import Payload, SendResult, redact_headers
from agent.sinks.http import post
from agent.sinks.otlp_json import to_dict, to_json

MESSAGES = {"metrics": ExportMetricsServiceRequest, "logs": ExportLogsServiceRequest}


def otlp_payloads(export: Export, encode: Any) -> list[Payload]:
    """Metrics and logs of an export, each encoded for the wire."""
    parts = (("metrics", export.metrics), ("logs", export.logs))
    return [Payload(signal, encode(message)) for signal, message in parts if message is not None]


class OtlpHttpSink:
    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        self.json = config.protocol == "http/json"
        self.content_type = "application/json" if self.json else "application/x-protobuf"

    def render(self, export: Export) -> list[Payload]:
        return otlp_payloads(export, to_json if self.json else (lambda m: m.SerializeToString()))

    def send(self, payload: Payload) -> SendResult:
        settings = self.config.for_signal(payload.signal)
        headers = {**settings.headers, "Content-Type": self.content_type}
        return post(
            self.config.endpoints[payload.signal],
            payload.body,
            headers,
            timeout=settings.timeout,
            gzip_body=settings.compression == "gzip",
            cafile=self.config.certificate,
        )

    def close(self, timeout: float) -> None:
        """Each send uses its own connection: nothing to release."""

    def describe(self, payload: Payload) -> dict[str, Any]:
        if self.json:
            body = json.loads(payload.body)
        else:
            body = to_dict(MESSAGES[payload.signal].FromString(payload.body))
        return {
            "signal": payload.signal,
            "url": self.config.endpoints[payload.signal],
            "content_type": self.content_type,
            "compression": self.config.for_signal(payload.signal).compression,
            "headers": redact_headers(dict(self.config.for_signal(payload.signal).headers)),
            "bytes": len(payload.body),
            "body": body,
        }
