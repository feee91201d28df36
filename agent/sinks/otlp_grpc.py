"""OTLP over gRPC (``MetricsService/Export`` and ``LogsService/Export``). The payload stored
in the outbox is the protobuf request, as for http/protobuf."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub

from agent.config import SinkConfig
from agent.emit import Export
from agent.sinks import Outcome, Payload, SendResult, redact_headers
from agent.sinks.otlp_http import MESSAGES, otlp_payloads
from agent.sinks.otlp_json import to_dict

# The specification's retryable codes; RESOURCE_EXHAUSTED only when the server says when (RetryInfo).
RETRYABLE_CODES = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
_STUBS = {"metrics": MetricsServiceStub, "logs": LogsServiceStub}


def _retry_delay(error: grpc.Call) -> float | None:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    info = error_details_pb2.RetryInfo()
                    detail.Unpack(info)
                    return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


class OtlpGrpcSink:
    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        self._channels: dict[str, grpc.Channel] = {}  # per signal: endpoint and compression may differ

    def _target(self, signal: str) -> tuple[str, bool]:
        """host:port and whether to use TLS: https yes, http no, no scheme unless ``insecure``."""
        endpoint = self.config.endpoints[signal]
        parts = urllib.parse.urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
        secure = parts.scheme == "https" or (parts.scheme == "" and not self.config.insecure)
        return f"{parts.hostname}:{parts.port or 4317}", secure

    def _stub(self, signal: str) -> Any:
        if signal not in self._channels:
            target, secure = self._target(signal)
            gzip = self.config.for_signal(signal).compression == "gzip"
            compression = grpc.Compression.Gzip if gzip else grpc.Compression.NoCompression
            if secure:
                roots = Path(self.config.certificate).read_bytes() if self.config.certificate else None
                credentials = grpc.ssl_channel_credentials(root_certificates=roots)
                self._channels[signal] = grpc.secure_channel(target, credentials, compression=compression)
            else:
                self._channels[signal] = grpc.insecure_channel(target, compression=compression)
        return _STUBS[signal](self._channels[signal])

    def render(self, export: Export) -> list[Payload]:
        return otlp_payloads(export, lambda m: m.SerializeToString())

    def send(self, payload: Payload) -> SendResult:
        request = MESSAGES[payload.signal].FromString(payload.body)
        settings = self.config.for_signal(payload.signal)
        metadata = [(k.lower(), v) for k, v in settings.headers.items()]
        try:
            self._stub(payload.signal).Export(request, metadata=metadata, timeout=settings.timeout)
        except grpc.RpcError as exc:
            if not isinstance(exc, grpc.Call):  # not a server answer: treat as a network failure
                return SendResult(Outcome.RETRY, f"gRPC: {exc}"[:200])
            code, delay = exc.code(), _retry_delay(exc)
            reason = f"gRPC {code.name}: {exc.details()}"[:200]
            if code in RETRYABLE_CODES or (code is grpc.StatusCode.RESOURCE_EXHAUSTED and delay is not None):
                return SendResult(Outcome.RETRY, reason, delay, f"gRPC {code.name}")
            return SendResult(Outcome.REJECT, reason, answer=f"gRPC {code.name}")
        return SendResult(Outcome.OK, answer="gRPC OK")

    def close(self, timeout: float) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    def describe(self, payload: Payload) -> dict[str, Any]:
        target, secure = self._target(payload.signal)
        settings = self.config.for_signal(payload.signal)
        return {
            "signal": payload.signal,
            "target": target,
            "tls": secure,
            "content_type": "application/grpc",
            "compression": settings.compression,
            "headers": redact_headers(dict(settings.headers)),
            "bytes": len(payload.body),
            "body": to_dict(MESSAGES[payload.signal].FromString(payload.body)),
        }
