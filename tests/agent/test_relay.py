"""The agent as a local relay: AI tools' OTLP (sent by the real SDK exporters, as Claude Code and Gemini
CLI send it) passes consent, loses its content, lands in the outbox, and reaches the receiver."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from agent.cli import main
from agent.outbox import DB_FILE
from agent.pipeline import Agent
from agent.relay import Relay, is_content
from agent.relay_server import RelayServers
from tests.agent.conftest import EMAIL, LOGIN, otlp_sink
from tests.support.ai_tools import (
    CUMULATIVE,
    DELTA,
    ToolProcess,
    ai_rows,
    claude_attrs,
    claude_resource,
    claude_session,
    gemini_attrs,
    gemini_resource,
    temporality,
)
from tests.support.processes import ROOT, create_connection, free_port, start_receiver

UNREACHABLE = "http://127.0.0.1:9"  # the sink never answers, so relayed items stay in the outbox
METRICS_SERVICE = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"


@dataclass
class LocalRelay:
    agent: Agent
    http_port: int
    grpc_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def items(self) -> list[tuple[str, str, bytes]]:
        path = self.agent.settings.home / DB_FILE
        with sqlite3.connect(path) as db:
            return db.execute(
                "SELECT kind, signal, body FROM items WHERE kind = 'relay' ORDER BY id"
            ).fetchall()


@pytest.fixture
def relay(env, write_config) -> Iterator[LocalRelay]:
    write_config(otlp_sink(UNREACHABLE))
    agent = Agent(os.environ)
    http_port, grpc_port = free_port(), free_port()
    servers = RelayServers(Relay(agent, lambda: None), http_port, grpc_port)
    started = servers.start()
    assert len(started) == 2, started
    yield LocalRelay(agent, http_port, grpc_port)
    servers.stop()


def claude_events(url: str) -> None:
    """Claude Code's events as its log exporter sends them, with OTEL_LOG_USER_PROMPTS=1."""
    provider = LoggerProvider(resource=Resource.create(claude_resource()))
    provider.add_log_record_processor(BatchLogRecordProcessor(HttpLogExporter(endpoint=f"{url}/v1/logs")))
    logger = provider.get_logger("com.anthropic.claude_code.events")
    std = claude_attrs("ana@example.com", "s-1")
    logger.emit(
        event_name="claude_code.user_prompt",
        body="claude_code.user_prompt",
        attributes={**std, "prompt": "SECRET: refactor the payroll module", "prompt_length": 35},
    )
    logger.emit(
        event_name="claude_code.tool_result",
        body="tool_result",
        attributes={
            **std,
            "tool_name": "Bash",
            "success": "true",
            "duration_ms": 120,
            "tool_parameters": '{"bash_command": "cat /home/ana/SECRET.env"}',
            "decision": "accept",
        },
    )
    logger.emit(
        event_name="claude_code.api_error",
        body="SECRET stack trace at /home/ana/src",
        attributes={**std, "error": "SECRET token sk-123 rejected", "status_code": "401", "model": "x"},
    )
    assert provider.force_flush(30_000)
    provider.shutdown()


def test_content_and_the_tools_identity_never_reach_the_outbox(relay: LocalRelay) -> None:
    assert main(["consent", "detailed"]) == 0
    claude_events(relay.url)
    exporter = HttpMetricExporter(
        endpoint=f"{relay.url}/v1/metrics", preferred_temporality=temporality(DELTA)
    )
    process = ToolProcess(claude_resource(), "com.anthropic.claude_code", exporter=exporter)
    claude_session(process, "ana@example.com", "s-1")
    process.add("claude_code.lines_of_code.count", 1, {"type": "added", "file_path": "/home/ana/SECRET.py"})
    process.flush()
    process.close()
    items = relay.items()
    assert sorted(signal for _, signal, _ in items) == ["logs", "metrics"]
    for _, _, body in items:
        assert b"SECRET" not in body and b"ana@example.com" not in body and b"/home/ana" not in body
    logs = ExportLogsServiceRequest.FromString(next(b for _, s, b in items if s == "logs"))
    resource = {kv.key: kv.value.string_value for kv in logs.resource_logs[0].resource.attributes}
    assert resource["user.id"] == LOGIN and resource["user.email"] == EMAIL
    assert resource["service.name"] == "claude-code"
    records = logs.resource_logs[0].scope_logs[0].log_records
    # the prompt event is not on the allowlist at all: it is dropped whole
    assert [r.event_name for r in records] == ["claude_code.tool_result", "claude_code.api_error"]
    kept = {kv.key for r in records for kv in r.attributes}
    assert {"tool_name", "duration_ms", "status_code", "session.id"} <= kept
    assert not kept & {"prompt", "tool_parameters", "error", "user.email", "user.account_uuid"}
    assert all(not r.HasField("body") for r in records)
    metrics = ExportMetricsServiceRequest.FromString(next(b for _, s, b in items if s == "metrics"))
    names = {m.name for m in metrics.resource_metrics[0].scope_metrics[0].metrics}
    assert "claude_code.code_edit_tool.decision" in names


def test_below_detailed_consent_nothing_is_stored(relay: LocalRelay) -> None:
    assert main(["consent", "base"]) == 0
    process = ToolProcess(claude_resource(), "com.anthropic.claude_code", DELTA)
    claude_session(process, "ana@example.com", "s-1")
    body = process.request()
    answer = httpx.post(
        f"{relay.url}/v1/metrics", content=body, headers={"Content-Type": "application/x-protobuf"}
    )
    assert answer.status_code == 200
    partial = ExportMetricsServiceResponse.FromString(answer.content).partial_success
    assert partial.rejected_data_points > 0 and "below detailed" in partial.error_message
    exporter = GrpcMetricExporter(endpoint=f"127.0.0.1:{relay.grpc_port}", insecure=True)
    grpc_process = ToolProcess(gemini_resource(), "gemini-cli", exporter=exporter)
    grpc_process.add("gemini_cli.session.count", 1, gemini_attrs("bo@example.com", "g"))
    grpc_process.flush()
    grpc_process.close()
    claude_events(relay.url)
    assert relay.items() == []


def test_json_and_gzip_are_accepted_like_the_receiver_accepts_them(relay: LocalRelay) -> None:
    main(["consent", "detailed"])
    process = ToolProcess(claude_resource(), "com.anthropic.claude_code", DELTA)
    process.add("claude_code.session.count", 1, claude_attrs("ana@example.com", "s-2"))
    body = process.request()
    zipped = httpx.post(
        f"{relay.url}/v1/metrics",
        content=gzip.compress(body),
        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert zipped.status_code == 200
    as_json = json_format.MessageToJson(ExportMetricsServiceRequest.FromString(body))
    answer = httpx.post(
        f"{relay.url}/v1/metrics",
        content=as_json,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert len(relay.items()) == 1  # the same request twice: one item (deterministic outbox key)


def test_bad_requests_get_the_right_answer_and_store_nothing(relay: LocalRelay) -> None:
    main(["consent", "detailed"])
    proto = {"Content-Type": "application/x-protobuf"}
    cases = [
        (httpx.get(f"{relay.url}/v1/metrics"), 405),
        (httpx.post(f"{relay.url}/v1/profiles", content=b"", headers=proto), 404),
        (httpx.post(f"{relay.url}/v1/metrics", content=b"{}", headers={"Content-Type": "text/plain"}), 415),
        (httpx.post(f"{relay.url}/v1/metrics", content=b"\xff\xff\xff garbage", headers=proto), 400),
        (
            httpx.post(
                f"{relay.url}/v1/metrics", content=b"[1,", headers={"Content-Type": "application/json"}
            ),
            400,
        ),
        (
            httpx.post(
                f"{relay.url}/v1/metrics", content=b"not gzip", headers={**proto, "Content-Encoding": "gzip"}
            ),
            400,
        ),
        (
            httpx.post(f"{relay.url}/v1/metrics", content=b"x", headers={**proto, "Content-Encoding": "br"}),
            400,
        ),
        (
            httpx.post(
                f"{relay.url}/v1/metrics",
                content=gzip.compress(b"\0" * (17 << 20)),
                headers={**proto, "Content-Encoding": "gzip"},
            ),
            413,
        ),
    ]
    # a chunked body (Claude Code's exporter sends them) is read, then judged like any other
    garbage = iter([b"\xff\xff", b"\xff garbage"])
    chunked = httpx.post(f"{relay.url}/v1/metrics", content=garbage, headers=proto)
    cases.append((chunked, 400))
    empty = httpx.post(f"{relay.url}/v1/metrics", content=b"", headers=proto)
    assert empty.status_code == 200  # a valid, empty export: nothing to keep
    for answer, status in cases:
        assert answer.status_code == status, (status, answer.text)
        assert answer.text, "every error says what is wrong"
    with grpc.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        export = channel.unary_unary(METRICS_SERVICE, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as failure:
            export(b"\xff\xff\xff garbage", timeout=10)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert relay.items() == []


def test_a_local_apps_metrics_and_traces_are_refused_and_nothing_is_stored(relay: LocalRelay) -> None:
    assert main(["consent", "detailed"]) == 0
    app = ToolProcess({"service.name": "my-web-app"}, "my.app", DELTA)
    app.add("http.server.request.count", 7, {"http.route": "/home/ana/private"})
    proto = {"Content-Type": "application/x-protobuf"}
    refused = httpx.post(f"{relay.url}/v1/metrics", content=app.request(), headers=proto)
    assert refused.status_code == 400 and "no other application" in refused.text
    # An AI tool's request that holds nothing on the allowlist is no mistake: 200, all of it rejected.
    gemini = ToolProcess(gemini_resource(), "gemini-cli", DELTA)
    gemini.record("gemini_cli.startup.duration", 12.0, {"phase": "load_settings", "os_release": "6.1"})
    quiet = httpx.post(f"{relay.url}/v1/metrics", content=gemini.request(), headers=proto)
    assert quiet.status_code == 200
    assert ExportMetricsServiceResponse.FromString(quiet.content).partial_success.rejected_data_points == 1
    traces = httpx.post(f"{relay.url}/v1/traces", content=b"", headers=proto)
    assert traces.status_code == 400 and "no traces" in traces.text
    with grpc.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=None,
            response_deserializer=None,
        )
        with pytest.raises(grpc.RpcError) as failure:
            export(b"", timeout=10)
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert relay.items() == []


def test_content_names() -> None:
    for key in (
        "prompt",
        "gen_ai.prompt",
        "tool_parameters",
        "error",
        "file_path",
        "function_args",
        "response_text",
    ):
        assert is_content(key), key
    for key in (
        "prompt_length",
        "prompt_id",
        "decision",
        "language",
        "type",
        "model",
        "session.id",
        "tool_name",
    ):
        assert not is_content(key), key


def test_a_taken_port_is_reported_and_the_rest_runs(env, write_config) -> None:
    write_config(otlp_sink(UNREACHABLE))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        servers = RelayServers(Relay(Agent(os.environ), lambda: None), port, free_port())
        started = servers.start()
        servers.stop()
    assert len(started) == 1 and "gRPC" in started[0]


def test_run_relays_claude_code_and_gemini_cli_to_the_receiver(env, write_config, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'receiver.db'}"
    connection_id, key = create_connection(db_url, "relay")
    receiver = start_receiver(db_url, tmp_path)
    http_port, grpc_port = free_port(), free_port()
    write_config(
        otlp_sink(receiver.url)
        + f'[sinks.main.headers]\nAuthorization = "Bearer {key}"\n'
        + "[agent]\ninterval_seconds = 3600\npoll_seconds = 0.2\n"
        + f"[relay]\nhttp_port = {http_port}\ngrpc_port = {grpc_port}\n"
    )
    main(["consent", "detailed"])
    agent = subprocess.Popen(
        [sys.executable, "-m", "agent", "run"],
        cwd=ROOT,
        env=dict(os.environ),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_port(http_port)
        _wait_for_port(grpc_port)
        exporter = HttpMetricExporter(
            endpoint=f"http://127.0.0.1:{http_port}/v1/metrics", preferred_temporality=temporality(DELTA)
        )
        claude = ToolProcess(claude_resource(), "com.anthropic.claude_code", exporter=exporter)
        claude_session(claude, "ana@example.com", "s-1")
        claude.flush()
        claude.close()
        gemini_exporter = GrpcMetricExporter(
            endpoint=f"127.0.0.1:{grpc_port}", insecure=True, preferred_temporality=temporality(CUMULATIVE)
        )
        gemini = ToolProcess(gemini_resource(), "gemini-cli", exporter=gemini_exporter)
        gemini.add("gemini_cli.session.count", 1, gemini_attrs("ana@example.com", "g-1"))
        gemini.add(
            "gemini_cli.lines.changed", 25, {**gemini_attrs("ana@example.com", "g-1"), "type": "added"}
        )
        gemini.flush()
        gemini.close()
        deadline = time.monotonic() + 30
        rows: dict = {}
        while time.monotonic() < deadline and len(rows) < 4:
            rows = ai_rows(db_url, connection_id, LOGIN)
            time.sleep(0.2)
        assert set(rows) == {
            ("claude_code", "unknown", "agent"),
            ("claude_code", "python", "agent"),
            ("claude_code", "typescript", "agent"),
            ("gemini_cli", "unknown", "agent"),
        }, receiver.log()[-2000:]
        assert rows[("claude_code", "unknown", "agent")]["sessions"] == 1.0
        assert rows[("claude_code", "python", "agent")]["suggestions_accepted"] == 3.0
        assert rows[("gemini_cli", "unknown", "agent")]["lines_added"] == 25.0
        assert ai_rows(db_url, connection_id, "ana@example.com") == {}  # the agent's identity, not the tool's
    finally:
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=15)
        receiver.stop()
    assert agent.returncode == 0 and f"relay: OTLP/HTTP on 127.0.0.1:{http_port}" in err, err


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def test_pseudonymous_identity_replaces_the_tools_and_names_nobody(env, write_config) -> None:
    write_config('[identity]\nmode = "pseudonymous"\nsalt = "org-salt"\n' + otlp_sink(UNREACHABLE))
    main(["consent", "detailed"])
    agent = Agent(os.environ)
    http_port = free_port()
    servers = RelayServers(Relay(agent, lambda: None), http_port, 0)
    assert servers.start() == [f"OTLP/HTTP on 127.0.0.1:{http_port}"]
    try:
        local = LocalRelay(agent, http_port, 0)
        exporter = HttpMetricExporter(
            endpoint=f"{local.url}/v1/metrics", preferred_temporality=temporality(DELTA)
        )
        process = ToolProcess(claude_resource(), "com.anthropic.claude_code", exporter=exporter)
        claude_session(process, "ana@example.com", "s-1")
        process.flush()
        process.close()
        ((_, _, body),) = local.items()
    finally:
        servers.stop()
    for name in (b"ana@example.com", EMAIL.encode(), LOGIN.encode(), socket.gethostname().encode()):
        assert name not in body
    request = ExportMetricsServiceRequest.FromString(body)
    resource = {kv.key: kv.value.string_value for kv in request.resource_metrics[0].resource.attributes}
    assert len(resource["user.id"]) == 64 and resource["devtel.identity.mode"] == "pseudonymous"
    assert "user.email" not in resource
