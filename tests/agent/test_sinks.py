"""Sinks end to end against real servers: OTLP http/protobuf, http/json, gRPC, Grafana Cloud's
Basic auth, the legacy DevLake webhook; and what identity and privacy leave in the bytes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc

from agent import contract as C
from agent.cli import main
from agent.store import DayStore
from tests.agent.conftest import EMAIL, FULL_NAME, LOGIN, otlp_sink, sample_day
from tests.agent.receiver import Receiver, events, gauge_points, resource_attrs

TODAY = dt.date.today()


@pytest.fixture
def detailed_day(env: dict[str, str]) -> None:
    Path(env["DEVTEL_HOME"]).mkdir(parents=True, exist_ok=True)
    DayStore(Path(env["DEVTEL_HOME"])).save(sample_day(TODAY))
    main(["consent", "detailed"])


def test_http_protobuf_carries_gauges_summary_and_identity(receiver, write_config, detailed_day) -> None:
    write_config(otlp_sink(receiver.url))
    assert main(["collect"]) == 0
    ok = receiver.ok()
    assert {r.headers["Content-Type"] for r in ok} == {"application/x-protobuf"}
    date = {C.ATTR_DATE: TODAY.isoformat()}
    assert sorted(gauge_points(ok, C.M_LINES), key=str) == sorted(
        [
            (120, {**date, C.ATTR_REPOSITORY: "devtel", C.ATTR_LINE_CHANGE_TYPE: "added"}),
            (30, {**date, C.ATTR_REPOSITORY: "devtel", C.ATTR_LINE_CHANGE_TYPE: "removed"}),
        ],
        key=str,
    )
    ((_, body, attrs),) = events(ok, C.E_DAY_SUMMARY)
    assert attrs[C.ATTR_DATE] == TODAY.isoformat()
    assert body[C.BODY_GIT_ACTIVITY]["repositories"][0]["commit_ids"] == [f"{TODAY}-c{n}" for n in range(3)]
    assert len(body[C.BODY_ACTIVE_CLOCK_HOURS]) == 2
    detailed = [a for r in ok for a in resource_attrs(r.message) if C.RES_DEVELOPER_ID in a]
    assert detailed and all(a[C.RES_EMAIL] == EMAIL and a[C.RES_FULL_NAME] == FULL_NAME for a in detailed)
    assert all(a[C.RES_INSTANCE_ID] == detailed[0][C.RES_INSTANCE_ID] for a in detailed)


def test_paths_never_leave_unless_the_policy_allows(receiver, write_config, detailed_day) -> None:
    write_config(otlp_sink(receiver.url))
    main(["collect"])
    assert b"/home/alice" not in receiver.raw_bytes()


def test_paths_leave_when_the_policy_allows(receiver, write_config, detailed_day) -> None:
    write_config(otlp_sink(receiver.url), policy="[identity]\nallow_paths = true\n")
    main(["collect"])
    assert b"/home/alice/src/devtel" in receiver.raw_bytes()


def test_http_json_is_otlp_json(receiver, write_config, detailed_day) -> None:
    write_config(otlp_sink(receiver.url, protocol="http/json") + '[sinks.main.headers]\nx-team = "core"\n')
    assert main(["collect"]) == 0
    ok = receiver.ok()
    assert ok and {r.headers["Content-Type"] for r in ok} == {"application/json"}
    assert all(r.headers["x-team"] == "core" for r in ok)
    raw = json.loads(next(r.body for r in ok if r.path == "/v1/metrics"))
    assert "resourceMetrics" in raw  # lowerCamelCase keys
    assert gauge_points(ok, C.M_COMMITS)[0][0] == 3


def test_gzip_compression(receiver, write_config, detailed_day) -> None:
    write_config(otlp_sink(receiver.url) + 'compression = "gzip"\n')
    main(["collect"])
    assert {r.headers.get("Content-Encoding") for r in receiver.ok()} == {"gzip"}
    assert gauge_points(receiver.ok(), C.M_COMMITS)


def test_otel_env_sink_and_resource_attributes(receiver, write_config, detailed_day, monkeypatch) -> None:
    write_config()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20k1")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=dev,user.email=spoof%40x")
    assert main(["collect"]) == 0
    ok = receiver.ok()
    assert ok and all(r.headers["authorization"] == "Bearer k1" for r in ok)
    detailed = [a for r in ok for a in resource_attrs(r.message) if C.RES_DEVELOPER_ID in a]
    assert all(a["deployment.environment"] == "dev" and a[C.RES_EMAIL] == EMAIL for a in detailed)


def test_grafana_cloud_sends_basic_auth_protobuf_gzip(receiver, write_config, detailed_day) -> None:
    write_config(
        f'[sinks.grafana]\ntype = "grafana_cloud"\nendpoint = "{receiver.url}/otlp"\n'
        'instance_id = 424242\ntoken = "glc_secret"\n'
    )
    assert main(["collect"]) == 0
    ok = receiver.ok()
    assert {r.path for r in ok} == {"/otlp/v1/metrics", "/otlp/v1/logs"}
    expected = "Basic " + base64.b64encode(b"424242:glc_secret").decode()
    assert all(r.headers["Authorization"] == expected and r.headers["Content-Encoding"] == "gzip" for r in ok)


def test_pseudonymous_mode_leaves_no_name_host_or_email(receiver, write_config, detailed_day) -> None:
    write_config(otlp_sink(receiver.url), policy='[identity]\nmode = "pseudonymous"\nsalt = "org-salt-1"\n')
    legacy = Receiver().start()
    try:
        Path(os.environ["DEVTEL_LEGACY_CONFIG"]).write_text(
            json.dumps({"webhook_url": f"{legacy.url}/report"})
        )
        assert main(["collect"]) == 0
        sent = receiver.raw_bytes() + legacy.raw_bytes()
        assert receiver.ok() and legacy.ok()
    finally:
        legacy.stop()
    for secret in (EMAIL, FULL_NAME, LOGIN, socket.gethostname(), "alice.devtel"):
        assert secret.encode() not in sent, secret
    detailed = [a for r in receiver.ok() for a in resource_attrs(r.message) if C.RES_DEVELOPER_ID in a]
    assert all(
        len(a[C.RES_DEVELOPER_ID]) == 64 and a[C.RES_IDENTITY_MODE] == "pseudonymous" for a in detailed
    )


def test_legacy_webhook_gets_the_nested_collector_format(receiver, write_config, detailed_day) -> None:
    write_config()
    url = f"{receiver.url}/api/rest/plugins/developer_telemetry/connections/2/report"
    Path(os.environ["DEVTEL_LEGACY_CONFIG"]).write_text(
        json.dumps({"webhook_url": url, "api_key": "K" * 128})
    )
    assert main(["collect"]) == 0
    (request,) = receiver.ok()
    assert request.headers["Authorization"] == "Bearer " + "K" * 128
    body = request.message
    assert set(body) == {"date", "developer", "email", "name", "hostname", "metrics"}
    assert (body["date"], body["developer"], body["email"]) == (TODAY.isoformat(), LOGIN, EMAIL)
    metrics = body["metrics"]
    assert set(metrics) == {"active_hours", "tools_used", "projects", "git_activity", "development_activity"}
    assert metrics["active_hours"] == 2 and metrics["git_activity"]["total_commits"] == 3
    assert metrics["development_activity"] == {"test_runs_detected": 4, "build_commands_detected": 2}


def test_unreachable_or_hanging_secondary_never_stops_the_primary(
    receiver, write_config, detailed_day
) -> None:
    hanging = Receiver(hold=threading.Event()).start()
    try:
        for secondary in ("http://127.0.0.1:9/refused", f"{hanging.url}/hangs"):
            receiver.requests.clear()
            write_config()
            Path(os.environ["DEVTEL_LEGACY_CONFIG"]).write_text(
                json.dumps(
                    {
                        "webhook_url": f"{receiver.url}/report",
                        "api_key": "k",
                        "webhook_url_secondary": secondary,
                    }
                )
            )
            DayStore(Path(os.environ["DEVTEL_HOME"])).save(sample_day(TODAY, commits=len(secondary)))
            assert main(["collect"]) == 0
            assert [r.message["metrics"]["git_activity"]["total_commits"] for r in receiver.ok()] == [
                len(secondary)
            ]
        assert hanging.arrived.wait(5)
    finally:
        hanging.hold.set()
        hanging.stop()


class _Collector(metrics_service_pb2_grpc.MetricsServiceServicer, logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self) -> None:
        self.metrics: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.logs: list[logs_service_pb2.ExportLogsServiceRequest] = []
        self.metadata: list[dict[str, str]] = []
        self.failures: list[tuple[grpc.StatusCode, float | None]] = []  # answered in order
        self.deadlines: list[tuple[str, float | None]] = []  # (signal, seconds left on arrival)

    def _answer(self, context, store, request, response):
        self.metadata.append(dict(context.invocation_metadata()))
        self.deadlines.append(("logs" if store is self.logs else "metrics", context.time_remaining()))
        if self.failures:
            code, delay = self.failures.pop(0)
            if delay is not None:
                info = error_details_pb2.RetryInfo()
                info.retry_delay.FromSeconds(int(delay))
                status = status_pb2.Status(code=code.value[0], message="slow down")
                status.details.add().Pack(info)
                context.set_trailing_metadata([("grpc-status-details-bin", status.SerializeToString())])
            context.abort(code, "try later")
        store.append(request)
        return response

    def Export(self, request, context):
        if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
            return self._answer(
                context, self.metrics, request, metrics_service_pb2.ExportMetricsServiceResponse()
            )
        return self._answer(context, self.logs, request, logs_service_pb2.ExportLogsServiceResponse())


def _serve_collector() -> tuple[_Collector, int, grpc.Server]:
    collector = _Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(collector, server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return collector, port, server


@pytest.fixture
def grpc_collector() -> Iterator[tuple[_Collector, int]]:
    collector, port, server = _serve_collector()
    yield collector, port
    server.stop(0)


def _per_signal_env(monkeypatch, metrics_url: str, logs_url: str, protocol: str) -> None:
    """General settings for metrics, LOGS_* ones for logs, as a user's shell would set them."""
    for name, value in {
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": metrics_url,
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": logs_url,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-team=metrics-team",
        "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "x-team=logs-team,authorization=Bearer%20logs",
        "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": "gzip",
        "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "2500",
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
    }.items():
        monkeypatch.setenv(name, value)


def test_logs_variables_apply_to_logs_only_over_http(
    receiver, write_config, detailed_day, monkeypatch
) -> None:
    logs = Receiver().start()
    try:
        write_config()
        _per_signal_env(monkeypatch, receiver.url, f"{logs.url}/v1/logs", "http/protobuf")
        assert main(["collect"]) == 0
    finally:
        logs.stop()
    assert receiver.ok() and {r.path for r in receiver.ok()} == {"/v1/metrics"}
    assert logs.ok() and {r.path for r in logs.ok()} == {"/v1/logs"}
    assert {(r.headers.get("x-team"), r.headers.get("Content-Encoding")) for r in receiver.ok()} == {
        ("metrics-team", None)
    }
    assert {
        (r.headers["x-team"], r.headers["authorization"], r.headers["Content-Encoding"]) for r in logs.ok()
    } == {("logs-team", "Bearer logs", "gzip")}


def test_logs_variables_apply_to_logs_only_over_grpc(
    grpc_collector, write_config, detailed_day, monkeypatch
) -> None:
    metrics, port = grpc_collector
    logs, logs_port, server = _serve_collector()
    try:
        write_config()
        _per_signal_env(monkeypatch, f"127.0.0.1:{port}", f"127.0.0.1:{logs_port}", "grpc")
        assert main(["collect"]) == 0
    finally:
        server.stop(0)
    assert metrics.metrics and not metrics.logs and logs.logs and not logs.metrics
    assert {m.get("x-team") for m in metrics.metadata} == {"metrics-team"}
    assert {(m["x-team"], m["authorization"]) for m in logs.metadata} == {("logs-team", "Bearer logs")}
    # The deadline each call arrived with: LOGS_TIMEOUT's 2.5 s for logs, the 10 s default for metrics.
    assert all(left is not None and left < 5 for _, left in logs.deadlines)
    assert all(left is not None and left > 5 for _, left in metrics.deadlines)


def test_grpc_sink_exports_and_retries_unavailable(grpc_collector, write_config, detailed_day, agent) -> None:
    collector, port = grpc_collector
    collector.failures.append((grpc.StatusCode.UNAVAILABLE, None))
    write_config(
        f'[sinks.main]\ntype = "otlp"\nprotocol = "grpc"\nendpoint = "127.0.0.1:{port}"\ninsecure = true\n'
        '[sinks.main.headers]\nAuthorization = "Bearer g1"\n'
    )
    main(["collect"])
    assert agent().outbox.status("main").last_failure.startswith("gRPC UNAVAILABLE")
    main(["flush"])
    assert agent().outbox.status("main").pending == 0
    assert all(m["authorization"] == "Bearer g1" for m in collector.metadata)
    names = {
        m.name
        for r in collector.metrics
        for rm in r.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert {C.M_ACTIVE_HOURS, C.M_COMMITS, C.M_AGENT_RSS} <= names
    assert {
        rec.event_name
        for r in collector.logs
        for rl in r.resource_logs
        for sl in rl.scope_logs
        for rec in sl.log_records
    } >= {C.E_DAY_SUMMARY, C.E_FIRST_SEEN}


@pytest.mark.parametrize(
    ("code", "delay", "retried"),
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 7, True),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, None, False),
        (grpc.StatusCode.INVALID_ARGUMENT, None, False),
        (grpc.StatusCode.UNAUTHENTICATED, None, False),
    ],
)
def test_grpc_answers_are_classified_as_the_spec_says(
    grpc_collector, write_config, agent, code, delay, retried
):
    collector, port = grpc_collector
    collector.failures.append((code, delay))
    write_config(
        f'[sinks.main]\ntype = "otlp"\nprotocol = "grpc"\nendpoint = "http://127.0.0.1:{port}"\n'
        "[outbox]\nbackoff_max_seconds = 60\n"
    )
    main(["collect"])
    a = agent()
    status = a.outbox.status("main")
    assert bool(status.rejected) is not retried and status.last_failure.startswith(f"gRPC {code.name}")
    if retried:
        assert 6 < a.outbox.failures("main")[1] - time.time() <= 7.5  # RetryInfo's delay honoured


def test_secondary_webhook_gets_the_report_but_never_the_primarys_key(receiver, write_config, detailed_day):
    secondary = Receiver().start()
    try:
        write_config()
        Path(os.environ["DEVTEL_LEGACY_CONFIG"]).write_text(
            json.dumps(
                {
                    "webhook_url": f"{receiver.url}/report",
                    "api_key": "primary-key",
                    "webhook_url_secondary": f"{secondary.url}/copy",
                }
            )
        )
        assert main(["collect"]) == 0  # collect waits (at most 2 s) for the copy before exiting
        (copy,) = secondary.ok()
        assert copy.message == receiver.ok()[0].message
        assert "Authorization" not in copy.headers and b"primary-key" not in secondary.raw_bytes()
    finally:
        secondary.stop()


def test_otel_env_grpc_protocol_reaches_a_grpc_collector(
    grpc_collector, write_config, detailed_day, monkeypatch
):
    collector, port = grpc_collector
    write_config()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=t1")
    assert main(["collect"]) == 0
    assert collector.metrics and collector.logs
    assert all(m["x-tenant"] == "t1" for m in collector.metadata)
