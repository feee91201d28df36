"""A real OTLP/HTTP (and legacy JSON) server for the agent's tests: decodes every request with
opentelemetry-proto, keeps the raw bytes, and answers the statuses a test queues."""

from __future__ import annotations

import gzip
import json
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

MESSAGES = {"/v1/metrics": ExportMetricsServiceRequest, "/v1/logs": ExportLogsServiceRequest}


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    raw: bytes  # exactly the bytes on the wire
    body: bytes  # decompressed
    message: Any  # the decoded protobuf request, or the JSON body of a legacy report
    status: int


@dataclass
class Receiver:
    """Answers 200 unless a test queued other answers: ``(status, headers)`` in order."""

    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    requests: list[Request] = field(default_factory=list)
    hold: threading.Event | None = None  # when set, each request waits here before answering
    arrived: threading.Event = field(default_factory=threading.Event)
    scheme: str = "http"

    def start(self, tls: tuple[Path, Path] | None = None) -> Receiver:
        """Serve on a free port; with ``tls`` (certificate, key) over HTTPS."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                status, extra = receiver.answers.popleft() if receiver.answers else (200, {})
                receiver.requests.append(
                    Request(
                        self.path,
                        dict(self.headers),
                        raw,
                        body,
                        _decode(self.path, self.headers, body),
                        status,
                    )
                )
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def ok(self) -> list[Request]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def raw_bytes(self) -> bytes:
        return b"".join(r.raw + json.dumps(r.headers).encode() for r in self.requests)


def _decode(path: str, headers: Any, body: bytes) -> Any:
    message_type = next((m for suffix, m in MESSAGES.items() if path.endswith(suffix)), None)
    if message_type is None:
        return json.loads(body)
    if headers.get("Content-Type", "").startswith("application/json"):
        return json_format.Parse(body, message_type(), ignore_unknown_fields=True)
    return message_type.FromString(body)


def resource_attrs(message: Any) -> list[dict[str, Any]]:
    resources = getattr(message, "resource_metrics", None) or getattr(message, "resource_logs", [])
    return [{kv.key: _value(kv.value) for kv in r.resource.attributes} for r in resources]


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def gauge_points(requests: list[Request], name: str) -> list[tuple[float, dict[str, Any]]]:
    points = []
    for request in requests:
        for rm in getattr(request.message, "resource_metrics", []):
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        data = metric.gauge.data_points or metric.sum.data_points
                        points += [
                            (p.as_int or p.as_double, {kv.key: _value(kv.value) for kv in p.attributes})
                            for p in data
                        ]
    return points


def events(requests: list[Request], name: str | None = None) -> list[tuple[str, Any, dict[str, Any]]]:
    found = []
    for request in requests:
        for rl in getattr(request.message, "resource_logs", []):
            for sl in rl.scope_logs:
                for record in sl.log_records:
                    if name is None or record.event_name == name:
                        attrs = {kv.key: _value(kv.value) for kv in record.attributes}
                        found.append((record.event_name, _value(record.body), attrs))
    return found
