"""A pass-through between an AI CLI and where its OTLP goes (the receiver or the relay), recording the
aggregation temporality the CLI really put on each metric: the independent check that a CLI switched
to what ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` asked for, read off the wire.

OTLP/HTTP (protobuf or JSON, chunked or not, gzip or not) and OTLP/gRPC; every request is forwarded
unchanged with its ``Authorization`` and the upstream answer is handed back.
"""

from __future__ import annotations

import gzip
import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import httpx
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

METRICS_PATH = "/v1/metrics"
METRICS_METHOD = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
TEMPORALITY = {1: "delta", 2: "cumulative"}  # OTLP AggregationTemporality


@dataclass
class Seen:
    """Per metric name, the temporalities its sums and histograms arrived with."""

    temporalities: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, request: ExportMetricsServiceRequest) -> None:
        with self.lock:
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        if kind in ("sum", "histogram", "exponential_histogram"):
                            found = getattr(metric, kind).aggregation_temporality
                            self.temporalities[metric.name].add(
                                TEMPORALITY.get(found, f"unspecified({found})")
                            )

    def of(self, names: Any) -> set[str]:
        """The temporalities seen on the metrics named in ``names`` (those a test cares about)."""
        with self.lock:
            return {t for name, found in self.temporalities.items() if name in names for t in found}


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        parts = []
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
        while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(parts)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _decoded(raw: bytes, headers: Any) -> ExportMetricsServiceRequest:
    body = gzip.decompress(raw) if (headers.get("Content-Encoding") or "") == "gzip" else raw
    if "json" in (headers.get("Content-Type") or ""):
        return json_format.Parse(body, ExportMetricsServiceRequest(), ignore_unknown_fields=True)
    return ExportMetricsServiceRequest.FromString(body)


def _http(upstream: str, seen: Seen) -> ThreadingHTTPServer:
    client = httpx.Client(base_url=upstream, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = _body(self)
            if self.path.startswith(METRICS_PATH):
                seen.record(_decoded(raw, self.headers))
            keep = ("Content-Type", "Content-Encoding", "Authorization")
            headers = {k: self.headers[k] for k in keep if self.headers.get(k)}
            answer = client.post(self.path, content=raw, headers=headers)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "application/octet-stream"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            """A CLI closing its idle keep-alive connection at exit is no error worth a traceback."""

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Forward(grpc.GenericRpcHandler):
    """Every unary method, as bytes, to the upstream; a metrics export is read on the way."""

    def __init__(self, channel: grpc.Channel, seen: Seen) -> None:
        self.channel, self.seen = channel, seen

    def service(self, details: Any) -> grpc.RpcMethodHandler:
        method = details.method
        call = self.channel.unary_unary(method)

        def forward(request: bytes, context: grpc.ServicerContext) -> bytes:
            if method == METRICS_METHOD:
                self.seen.record(ExportMetricsServiceRequest.FromString(request))
            metadata = [(k, v) for k, v in context.invocation_metadata() if k == "authorization"]
            try:
                answer: bytes = call(request, metadata=metadata, timeout=30)
            except grpc.RpcError as exc:
                context.abort(exc.code(), exc.details() or "")
            return answer

        return grpc.unary_unary_rpc_method_handler(forward)


@dataclass
class Wiretap:
    url: str  # where the CLI sends: http://127.0.0.1:PORT
    seen: Seen


@contextmanager
def wiretap(upstream: str, protocol: str) -> Iterator[Wiretap]:
    """A tap in front of ``upstream`` (a base URL) for ``protocol`` (http/protobuf, http/json, grpc)."""
    seen = Seen()
    if protocol == "grpc":
        channel = grpc.insecure_channel(upstream.removeprefix("http://"))
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        server.add_generic_rpc_handlers((_Forward(channel, seen),))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        try:
            yield Wiretap(f"http://127.0.0.1:{port}", seen)
        finally:
            server.stop(None)
            channel.close()
        return
    http = _http(upstream, seen)
    try:
        yield Wiretap(f"http://127.0.0.1:{http.server_address[1]}", seen)
    finally:
        http.shutdown()
        http.server_close()
