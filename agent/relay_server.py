"""The relay's transports on 127.0.0.1: OTLP/HTTP (protobuf or JSON, gzip or not) and OTLP/gRPC.

Both only decode and answer; ``Relay.accept`` decides. Bad input gets the answer the OTLP
specification gives it (400, 405, 413, 415; INVALID_ARGUMENT) and stores nothing. Only the
loopback interface is ever bound: the relay takes no credentials, so nothing else may reach it.
"""

from __future__ import annotations

import sys
import threading
import zlib
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace

from agent.errors import StateError
from agent.relay import Refused, Relay

HOST = "127.0.0.1"
MAX_BODY = 16 << 20  # after decompression, as the receiver allows


@dataclass(frozen=True)
class _Signal:
    name: str
    grpc_service: str
    request: type[Message]
    response: type[Message]
    partial: type[Message]
    rejected_field: str


SIGNALS = {
    "/v1/metrics": _Signal(
        "metrics",
        "opentelemetry.proto.collector.metrics.v1.MetricsService",
        metrics.ExportMetricsServiceRequest,
        metrics.ExportMetricsServiceResponse,
        metrics.ExportMetricsPartialSuccess,
        "rejected_data_points",
    ),
    "/v1/logs": _Signal(
        "logs",
        "opentelemetry.proto.collector.logs.v1.LogsService",
        logs.ExportLogsServiceRequest,
        logs.ExportLogsServiceResponse,
        logs.ExportLogsPartialSuccess,
        "rejected_log_records",
    ),
    "/v1/traces": _Signal(
        "traces",
        "opentelemetry.proto.collector.trace.v1.TraceService",
        trace.ExportTraceServiceRequest,
        trace.ExportTraceServiceResponse,
        trace.ExportTracePartialSuccess,
        "rejected_spans",
    ),
}


class BadInput(Exception):
    """A request the relay cannot use; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _inflate(body: bytes, encoding: str) -> bytes:
    """Decompress with a cap, so a small bomb cannot fill the memory."""
    if encoding in ("", "identity"):
        data = body
    elif encoding in ("gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(body, MAX_BODY + 1)
        except zlib.error as exc:
            raise BadInput(400, f"the body is not valid {encoding} data: {exc}") from exc
    else:
        raise BadInput(400, f"Content-Encoding {encoding!r} is not supported; use gzip, deflate or none")
    if len(data) > MAX_BODY:
        raise BadInput(413, f"the body is larger than {MAX_BODY} bytes after decompression")
    return data


def _read_chunked(stream: Any) -> bytes:
    """A chunked body (Claude Code's exporter sends one), capped like any other."""
    data = bytearray()
    while True:
        line = stream.readline(1024)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise BadInput(400, f"a malformed chunk size line: {line[:40]!r}") from exc
        if size == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers: none is used
            return bytes(data)
        if len(data) + size > MAX_BODY:
            raise BadInput(413, f"the body is larger than {MAX_BODY} bytes")
        data += stream.read(size)
        stream.readline(1024)  # the CRLF after each chunk


def decode(signal: _Signal, body: bytes, content_type: str) -> Message:
    media = content_type.split(";", 1)[0].strip().lower()
    request = signal.request()
    try:
        if media == "application/x-protobuf":
            request.ParseFromString(body)
        elif media == "application/json":
            json_format.Parse(body.decode("utf-8"), request, ignore_unknown_fields=True)
        else:
            raise BadInput(
                415, f"Content-Type {media or 'none'!r}: use application/x-protobuf or application/json"
            )
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, RecursionError) as exc:
        raise BadInput(400, f"not a valid OTLP {signal.name} request: {exc}"[:300]) from exc
    return request


def answer(relay: Relay, signal: _Signal, request: Message) -> Message:
    dropped, why = relay.accept(signal.name, request)
    if not dropped:
        return signal.response()
    partial = signal.partial(error_message=why)
    setattr(partial, signal.rejected_field, dropped)
    return signal.response(partial_success=partial)


def _handler(relay: Relay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            signal = SIGNALS.get(self.path.split("?", 1)[0])
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if signal is None:
                self._reply(404, b"unknown path: use /v1/metrics, /v1/logs or /v1/traces")
                return
            chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
            if not chunked and not 0 <= length <= MAX_BODY:
                self.close_connection = True
                self._reply(413 if length > MAX_BODY else 400, b"a Content-Length of 0 to 16 MiB is required")
                return
            try:
                raw = _read_chunked(self.rfile) if chunked else self.rfile.read(length)
                body = _inflate(raw, (self.headers.get("Content-Encoding") or "").strip().lower())
                content_type = self.headers.get("Content-Type") or ""
                response = answer(relay, signal, decode(signal, body, content_type))
            except BadInput as exc:
                self.close_connection = exc.status in (411, 413)
                self._reply(exc.status, str(exc).encode())
                return
            except Refused as exc:
                self._reply(400, str(exc).encode())
                return
            except StateError as exc:  # the outbox cannot be written: the tool should retry
                self._reply(503, str(exc).encode())
                return
            if content_type.split(";", 1)[0].strip().lower() == "application/json":
                self._reply(200, json_format.MessageToJson(response).encode(), "application/json")
            else:
                self._reply(200, response.SerializeToString(), "application/x-protobuf")

        def _not_allowed(self) -> None:
            self._reply(405, b"only POST is accepted")

        do_GET = do_PUT = do_DELETE = do_PATCH = _not_allowed

        def log_message(self, *args: Any) -> None:
            """Quiet: a line per export says nothing `status` does not."""

    return Handler


def _grpc_export(relay: Relay, signal: _Signal) -> Any:
    def export(raw: bytes, context: grpc.ServicerContext) -> Message:
        try:
            return answer(relay, signal, decode(signal, raw, "application/x-protobuf"))
        except BadInput as exc:
            code, message = grpc.StatusCode.INVALID_ARGUMENT, str(exc)
        except Refused as exc:
            traces = signal.name == "traces"
            code = grpc.StatusCode.UNIMPLEMENTED if traces else grpc.StatusCode.INVALID_ARGUMENT
            message = str(exc)
        except StateError as exc:  # the outbox cannot be written: the tool should retry
            code, message = grpc.StatusCode.UNAVAILABLE, str(exc)
        context.abort(code, message)  # raises

    return grpc.unary_unary_rpc_method_handler(
        export, request_deserializer=None, response_serializer=lambda m: m.SerializeToString()
    )


class RelayServers:
    """The HTTP and gRPC listeners of `devtel-agent run`; a port that is taken is reported, not fatal."""

    def __init__(self, relay: Relay, http_port: int, grpc_port: int) -> None:
        self._relay = relay
        self._http_port, self._grpc_port = http_port, grpc_port
        self._http: ThreadingHTTPServer | None = None
        self._grpc: grpc.Server | None = None

    def start(self) -> list[str]:
        """Start what is configured; returns what listens, for the log."""
        listening = []
        if self._http_port:
            try:
                self._http = ThreadingHTTPServer((HOST, self._http_port), _handler(self._relay))
            except OSError as exc:
                _log(f"relay: OTLP/HTTP on {HOST}:{self._http_port} is off: {exc.strerror or exc}")
            else:
                self._http.daemon_threads = True
                threading.Thread(target=self._http.serve_forever, name="relay-http", daemon=True).start()
                listening.append(f"OTLP/HTTP on {HOST}:{self._http_port}")
        if self._grpc_port:
            server = grpc.server(
                futures.ThreadPoolExecutor(max_workers=4),
                options=[("grpc.max_receive_message_length", MAX_BODY), ("grpc.so_reuseport", 0)],
            )
            for signal in SIGNALS.values():
                methods = {"Export": _grpc_export(self._relay, signal)}
                server.add_generic_rpc_handlers(
                    (grpc.method_handlers_generic_handler(signal.grpc_service, methods),)
                )
            try:
                bound = server.add_insecure_port(f"{HOST}:{self._grpc_port}")
            except RuntimeError:
                bound = 0
            if bound:
                server.start()
                self._grpc = server
                listening.append(f"OTLP/gRPC on {HOST}:{self._grpc_port}")
            else:
                _log(f"relay: OTLP/gRPC on {HOST}:{self._grpc_port} is off: the port is taken")
        return listening

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=1).wait(2)


def _log(message: str) -> None:
    print(f"devtel-agent: {message}", file=sys.stderr, flush=True)
