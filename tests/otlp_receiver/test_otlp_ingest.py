"""OTLP into a running receiver, from the real OpenTelemetry SDK exporters and from raw requests."""

from __future__ import annotations

import base64
import gzip
import json
import time
import zlib
from typing import Any

import grpc
import httpx
import pytest
import sqlalchemy as sa
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub

from agent import contract as c
from bridge.store.database import make_engine
from tests.otlp_receiver.conftest import Served
from tests.support.otlp import (
    DayFigures,
    developer_resource,
    emit_summary_with_sdk,
    emit_with_sdk,
    metrics_request,
    summary_request,
)

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def row(served: Served, developer: str, date: str = "2026-03-02") -> Any:
    engine = make_engine(served.receiver.db_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT * FROM _tool_developer_metrics"
                    " WHERE connection_id = :c AND developer_id = :d AND date = :t"
                ),
                {"c": served.connection_id, "d": developer, "t": date},
            ).all()
    finally:
        engine.dispose()
    assert len(found) <= 1
    if not found:
        return None
    record = found[0]._asdict()
    for key in ("git_activity", "development_activity", "tools_used", "project_context"):
        if isinstance(record[key], str):
            record[key] = json.loads(record[key])
    return record


def post(served: Served, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        served.receiver.url + path,
        content=body,
        headers={**PROTOBUF, **served.auth(), **(headers or {})},
        timeout=30,
    )


def full_day(date: str = "2026-03-02") -> DayFigures:
    return (
        DayFigures(date)
        .active_hours(6)
        .repository("backend-api", commits=5, added=320, deleted=100, files=7)
        .repository("frontend-web", commits=3, added=200, deleted=80, files=5)
        .commands(test=4, build=2, install=1)
        .tools("vscode", "docker")
    )


def expect_full_day(record: dict[str, Any]) -> None:
    assert record["active_hours"] == 6
    git = record["git_activity"]
    assert (
        git["total_commits"],
        git["total_lines_added"],
        git["total_lines_deleted"],
        git["total_files_changed"],
    ) == (
        8,
        520,
        180,
        12,
    )
    assert [r["name"] for r in git["repositories"]] == ["backend-api", "frontend-web"]
    assert record["development_activity"] == {
        "test_runs_detected": 4,
        "build_commands_detected": 2,
        "install_commands_detected": 1,
    }
    assert record["tools_used"] == ["docker", "vscode"]


def test_sdk_http_protobuf_metrics_become_the_row(served: Served) -> None:
    resource = developer_resource("sdk.http", "install-1")
    exporter = HttpMetricExporter(endpoint=served.receiver.url + "/v1/metrics", headers=served.auth())
    emit_with_sdk(full_day(), resource, exporter)
    record = row(served, "sdk.http")
    expect_full_day(record)
    assert (record["email"], record["name"], record["hostname"], record["os_info"]) == (
        "sdk.http@example.com",
        "Sdk.Http",
        "install-1-host",
        "linux 6.1",
    )


def test_sdk_grpc_metrics_become_the_same_row(served: Served) -> None:
    resource = developer_resource("sdk.grpc", "install-1")
    exporter = GrpcMetricExporter(
        endpoint=f"127.0.0.1:{served.receiver.grpc_port}",
        insecure=True,
        headers=(("authorization", f"Bearer {served.api_key}"),),
    )
    emit_with_sdk(full_day(), resource, exporter)
    expect_full_day(row(served, "sdk.grpc"))


def summary_body() -> dict[str, Any]:
    base = int(time.mktime((2026, 3, 2, 9, 0, 0, 0, 0, -1)))
    return {
        c.BODY_ACTIVE_CLOCK_HOURS: [base + 3600 * h for h in range(6)],
        c.BODY_GIT_ACTIVITY: {
            "repositories": [
                {
                    "name": "backend-api",
                    "commits": 5,
                    "lines_added": 320,
                    "lines_deleted": 100,
                    "files_changed": 7,
                    "branches_worked": ["main", "feature/x"],
                },
                {
                    "name": "frontend-web",
                    "commits": 3,
                    "lines_added": 200,
                    "lines_deleted": 80,
                    "files_changed": 5,
                    "branches_worked": ["feature/ui"],
                },
            ]
        },
        c.BODY_DEVELOPMENT_ACTIVITY: {
            "test_runs_detected": 4,
            "build_commands_detected": 2,
            "install_commands_detected": 1,
        },
        c.BODY_TOOLS_USED: ["vscode", "docker"],
        c.BODY_PROJECT_CONTEXT: [{"name": "backend-api", "last_activity": "2026-03-02T15:30:00Z"}],
    }


def test_sdk_http_summary_event_becomes_the_row(served: Served) -> None:
    resource = developer_resource("sdk.events", "install-1")
    exporter = HttpLogExporter(endpoint=served.receiver.url + "/v1/logs", headers=served.auth())
    emit_summary_with_sdk("2026-03-02", summary_body(), resource, exporter)
    record = row(served, "sdk.events")
    expect_full_day(record)
    assert record["git_activity"]["repositories"][0]["branches_worked"] == ["feature/x", "main"]
    assert record["project_context"] == [{"name": "backend-api", "last_activity": "2026-03-02T15:30:00Z"}]


def test_metrics_only_and_events_only_give_the_same_row(served: Served) -> None:
    post(served, "/v1/metrics", metrics_request(full_day(), developer_resource("only.metrics", "i")))
    post(
        served,
        "/v1/logs",
        summary_request("2026-03-02", summary_body(), developer_resource("only.events", "i")),
    )
    by_metrics, by_events = row(served, "only.metrics"), row(served, "only.events")
    for key in ("active_hours", "development_activity", "tools_used"):
        assert by_metrics[key] == by_events[key]
    strip = [
        {k: v for k, v in r.items() if k != "branches_worked"}
        for r in by_events["git_activity"]["repositories"]
    ]
    assert [
        {k: v for k, v in r.items() if k != "branches_worked"}
        for r in by_metrics["git_activity"]["repositories"]
    ] == strip


def test_otlp_json_by_hand_gives_the_same_row(served: Served) -> None:
    resource = developer_resource("json.user", "install-1")
    points = []
    for name, value, attrs in full_day().points:
        points.append(
            {
                "name": name,
                "gauge": {
                    "dataPoints": [
                        {
                            "asInt": str(value),  # 64-bit integers as strings, as the specification allows
                            "timeUnixNano": str(time.time_ns()),
                            "attributes": [
                                {"key": k, "value": {"stringValue": v}}
                                for k, v in {c.ATTR_DATE: "2026-03-02", **attrs}.items()
                            ],
                            "exemplars": [
                                {
                                    "traceId": "5b8efff798038103d269b633813fc60c",
                                    "spanId": "eee19b7ec3c1b174",
                                    "asInt": "1",
                                    "timeUnixNano": "1",
                                }
                            ],
                        }
                    ]
                },
                "someFutureField": {"ignored": True},
            }
        )
    body = {
        "resourceMetrics": [
            {
                "resource": {
                    "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in resource.items()]
                },
                "scopeMetrics": [{"scope": {"name": "devtel"}, "metrics": points}],
            }
        ]
    }
    response = post(served, "/v1/metrics", json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    expect_full_day(row(served, "json.user"))


def test_json_hex_ids_decode_to_the_right_bytes() -> None:
    from otlp_receiver.otlp_codec import JSON, decode

    body = {
        "resourceMetrics": [
            {
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "x",
                                "gauge": {
                                    "dataPoints": [
                                        {
                                            "asDouble": 1.5,
                                            "exemplars": [
                                                {
                                                    "traceId": "5b8efff798038103d269b633813fc60c",
                                                    "spanId": "eee19b7ec3c1b174",
                                                }
                                            ],
                                        }
                                    ]
                                },
                            }
                        ]
                    }
                ]
            }
        ]
    }
    decoded = decode(json.dumps(body).encode(), JSON, ExportMetricsServiceRequest)
    exemplar = decoded.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0].exemplars[0]
    assert exemplar.trace_id == bytes.fromhex("5b8efff798038103d269b633813fc60c")
    assert len(exemplar.trace_id) == 16 and exemplar.span_id == bytes.fromhex("eee19b7ec3c1b174")


def test_replay_changes_nothing_and_order_of_snapshots_does_not_matter(served: Served) -> None:
    resource = developer_resource("order.user", "install-1")
    older = metrics_request(
        DayFigures("2026-03-02").active_hours(3).commands(test=1), resource, time_ns=1_000
    )
    newer = metrics_request(
        DayFigures("2026-03-02").active_hours(5).commands(test=4), resource, time_ns=2_000
    )
    for body in (newer, older, newer, older):
        assert post(served, "/v1/metrics", body).status_code == 200
    record = row(served, "order.user")
    assert record["active_hours"] == 5 and record["development_activity"]["test_runs_detected"] == 4
    updated = record["updated_at"]
    post(served, "/v1/metrics", older)
    assert row(served, "order.user")["active_hours"] == 5
    assert row(served, "order.user")["git_activity"] is None
    assert updated is not None


def test_partial_snapshot_updates_its_fields_and_keeps_the_rest(served: Served) -> None:
    resource = developer_resource("partial.user", "install-1")
    post(served, "/v1/metrics", metrics_request(full_day(), resource, time_ns=1_000))
    post(
        served,
        "/v1/metrics",
        metrics_request(DayFigures("2026-03-02").active_hours(7), resource, time_ns=2_000),
    )
    record = row(served, "partial.user")
    assert record["active_hours"] == 7
    assert record["git_activity"]["total_commits"] == 8
    assert record["tools_used"] == ["docker", "vscode"]


def test_two_installs_merge_without_double_counting(served: Served) -> None:
    base = int(time.mktime((2026, 3, 2, 9, 0, 0, 0, 0, -1)))

    def body(
        hours: list[int], commits: list[tuple[str, int]], tests: int, tools: list[str]
    ) -> dict[str, Any]:
        return {
            c.BODY_ACTIVE_CLOCK_HOURS: [base + 3600 * h for h in hours],
            c.BODY_GIT_ACTIVITY: {
                "repositories": [
                    {
                        "name": "backend-api",
                        "commits": len(commits),
                        "lines_added": sum(n for _, n in commits),
                        "lines_deleted": 0,
                        "files_changed": len(commits),
                        c.REPO_COMMITS_DETAIL: [
                            {"id": cid, "lines_added": n, "lines_deleted": 0, "files_changed": 1}
                            for cid, n in commits
                        ],
                    }
                ]
            },
            c.BODY_DEVELOPMENT_ACTIVITY: {"test_runs_detected": tests, "build_commands_detected": 0},
            c.BODY_TOOLS_USED: tools,
        }

    laptop = body([0, 1, 2, 3], [("a", 10), ("b", 20)], tests=3, tools=["vscode"])
    desktop = body([2, 3, 4], [("b", 20), ("c", 5)], tests=2, tools=["vim"])
    post(
        served,
        "/v1/logs",
        summary_request("2026-03-02", laptop, developer_resource("two.installs", "laptop")),
    )
    post(
        served,
        "/v1/logs",
        summary_request("2026-03-02", desktop, developer_resource("two.installs", "desktop")),
    )
    post(
        served,
        "/v1/logs",
        summary_request("2026-03-02", laptop, developer_resource("two.installs", "laptop")),
    )
    record = row(served, "two.installs")
    assert record["active_hours"] == 5  # hours 0..4, not 4 + 3
    assert record["git_activity"]["total_commits"] == 3  # a, b, c; b once
    assert record["git_activity"]["total_lines_added"] == 35
    assert record["development_activity"]["test_runs_detected"] == 5
    assert record["tools_used"] == ["vim", "vscode"]


def test_foreign_metrics_are_accepted_ignored_and_counted(served: Served) -> None:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    metric = rm.scope_metrics.add().metrics.add(name="http.server.duration")
    metric.gauge.data_points.add(as_double=1.0)
    metric.gauge.data_points.add(as_double=2.0)
    response = post(served, "/v1/metrics", request.SerializeToString())
    assert response.status_code == 200
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_data_points == 2
    assert "not devtel telemetry" in answer.partial_success.error_message


def test_devtel_points_without_a_date_or_developer_are_rejected_not_failed(served: Served) -> None:
    no_developer = {k: v for k, v in developer_resource("x", "i").items() if k != c.RES_DEVELOPER_ID}
    response = post(
        served, "/v1/metrics", metrics_request(DayFigures("2026-03-02").active_hours(2), no_developer)
    )
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert response.status_code == 200 and answer.partial_success.rejected_data_points == 1
    assert "user.id" in answer.partial_success.error_message
    bad_date = metrics_request(DayFigures("2026-02-30").active_hours(2), developer_resource("bad.date", "i"))
    answer = ExportMetricsServiceResponse.FromString(post(served, "/v1/metrics", bad_date).content)
    assert (
        answer.partial_success.rejected_data_points == 1
        and "calendar date" in answer.partial_success.error_message
    )
    assert row(served, "bad.date", "2026-02-28") is None


def test_traces_are_accepted_and_not_stored(served: Served) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(
        name="s", trace_id=b"\x01" * 16, span_id=b"\x02" * 8
    )
    response = post(served, "/v1/traces", request.SerializeToString())
    assert response.status_code == 200
    assert ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans == 1


def status_of(response: httpx.Response) -> status_pb2.Status:
    if response.headers["content-type"].startswith("application/json"):
        doc = response.json()
        return status_pb2.Status(code=doc.get("code", 0), message=doc.get("message", ""))
    return status_pb2.Status.FromString(response.content)


@pytest.mark.parametrize(
    ("headers", "body", "status", "says"),
    [
        ({"Authorization": ""}, b"", 401, "missing Authorization"),
        ({"Authorization": "Bearer " + "Z" * 128}, b"", 401, "unknown API key"),
        ({"Content-Type": "text/plain"}, b"x", 415, "not supported"),
        ({}, b"\xff\xff\xff garbage", 400, "not a valid"),
        ({"Content-Type": "application/json"}, b"{bad json", 400, "malformed JSON"),
        ({"Content-Type": "application/json"}, b"[1]", 400, "must be a JSON object"),
        ({"Content-Type": "application/json"}, b'{"resourceMetrics": "nope"}', 400, "not a valid"),
        (
            {"Content-Type": "application/json"},
            b'{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"exemplars":[{"traceId":"zz"}]}]}}]}]}]}',
            400,
            "not hex",
        ),
        ({"Content-Encoding": "br"}, b"x", 400, "unsupported Content-Encoding"),
        ({"Content-Encoding": "gzip"}, b"not gzip", 400, "not valid gzip"),
    ],
)
def test_bad_requests_get_the_right_status_and_a_status_body(
    served: Served, headers: dict[str, str], body: bytes, status: int, says: str
) -> None:
    response = post(served, "/v1/metrics", body, headers)
    assert response.status_code == status, response.text
    assert says in status_of(response).message


def test_basic_auth_for_another_connection_is_refused(served: Served) -> None:
    token = base64.b64encode(f"{served.connection_id + 1000}:{served.api_key}".encode()).decode()
    response = post(served, "/v1/metrics", b"", {"Authorization": f"Basic {token}"})
    assert response.status_code in (401, 403)
    good = base64.b64encode(f"{served.connection_id}:{served.api_key}".encode()).decode()
    assert post(served, "/v1/metrics", b"", {"Authorization": f"Basic {good}"}).status_code == 200


def test_gzip_and_deflate_work_and_a_bomb_is_413(served: Served) -> None:
    body = metrics_request(full_day(), developer_resource("gzip.otlp", "i"))
    assert post(served, "/v1/metrics", gzip.compress(body), {"Content-Encoding": "gzip"}).status_code == 200
    assert (
        post(served, "/v1/metrics", zlib.compress(body), {"Content-Encoding": "deflate"}).status_code == 200
    )
    expect_full_day(row(served, "gzip.otlp"))
    bomb = gzip.compress(b"\0" * (64 << 20))
    assert len(bomb) < 100_000
    response = post(served, "/v1/metrics", bomb, {"Content-Encoding": "gzip"})
    assert response.status_code == 413 and "after decompression" in status_of(response).message


def test_wrong_method_is_405_and_nothing_redirects(served: Served) -> None:
    response = httpx.get(served.receiver.url + "/v1/metrics", headers=served.auth())
    assert response.status_code == 405
    response = httpx.post(served.receiver.url + "/v1/metrics/", headers=served.auth(), follow_redirects=False)
    assert response.status_code not in (301, 302, 307, 308)


def test_grpc_auth_and_bad_data_codes(served: Served) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{served.receiver.grpc_port}") as channel:
        stub = MetricsServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Export(ExportMetricsServiceRequest(), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        raw = channel.unary_unary(
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
            request_serializer=None,
            response_deserializer=None,
        )
        with pytest.raises(grpc.RpcError) as caught:
            raw(b"\xff\xff\xff\xff", metadata=(("authorization", f"Bearer {served.api_key}"),), timeout=10)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_metrics_endpoint_counts_requests_and_items(served: Served) -> None:
    post(served, "/v1/metrics", metrics_request(full_day(), developer_resource("metrics.user", "i")))
    text = httpx.get(served.receiver.url + "/metrics").text
    assert 'devtel_receiver_requests_total{route="/v1/metrics",status="200"}' in text
    assert 'devtel_receiver_items_total{result="accepted",signal="metrics"}' in text
    assert "devtel_receiver_db_write_seconds_bucket" in text
    assert "devtel_receiver_batch_requests_bucket" in text


def base_event(name: str, install: str, time_ns: int, **fields: Any) -> bytes:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    from bridge.mapping.otlp_values import to_any_value

    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.add(key=c.RES_INSTANCE_ID, value=to_any_value(install))
    attrs = {"install_id": install, **fields}
    record = LogRecord(time_unix_nano=time_ns, event_name=name)
    for key, value in attrs.items():
        record.attributes.add(key=key, value=to_any_value(value))
    rl.scope_logs.add().log_records.append(record)
    return request.SerializeToString()


def install_row(served: Served, install: str) -> Any:
    engine = make_engine(served.receiver.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT * FROM _devtel_installs WHERE connection_id = :c AND install_id = :i"),
                {"c": served.connection_id, "i": install},
            ).one()
    finally:
        engine.dispose()


def test_base_telemetry_keeps_one_row_per_install_moving_only_forward(served: Served) -> None:
    install = f"install-{served.receiver.port}"
    t = 1_770_000_000 * 10**9
    first = base_event(
        c.E_FIRST_SEEN,
        install,
        t,
        app_version="0.1.0",
        platform="linux",
        first_seen_at="2026-02-02T02:40:00Z",
    )
    newer = base_event(
        c.E_HEARTBEAT,
        install,
        t + 86_400 * 10**9,
        app_version="0.2.0",
        platform="linux",
        heartbeat_at="2026-02-03T02:40:00Z",
    )
    older = base_event(
        c.E_HEARTBEAT,
        install,
        t + 3_600 * 10**9,
        app_version="0.1.5",
        platform="linux",
        heartbeat_at="2026-02-02T03:40:00Z",
    )
    for body in (first, newer, older, newer, first):
        assert post(served, "/v1/logs", body).status_code == 200
    found = install_row(served, install)
    assert found.app_version == "0.2.0"
    assert str(found.first_seen_at).startswith("2026-02-02 02:40:00")
    assert str(found.heartbeat_at).startswith("2026-02-03 02:40:00")
    assert str(found.last_seen_at).startswith("2026-02-03 02:40:00")


def command_stats_rows(served: Served, developer: str) -> list[Any]:
    engine = make_engine(served.receiver.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT repository, category, tool, outcome, count, total_duration_s, p50_duration_s,"
                    " p95_duration_s, cpu_time_s, wall_time_s FROM _tool_developer_command_stats"
                    " WHERE connection_id = :c AND developer_id = :d"
                    " ORDER BY repository, category, tool, outcome"
                ),
                {"c": served.connection_id, "d": developer},
            ).all()
    finally:
        engine.dispose()


def test_command_stats_merge_across_installs_and_replay_changes_nothing(served: Served) -> None:
    def stat(count: int, total: float, p50: float, outcome: str = "success") -> dict[str, Any]:
        return {
            "repository": "backend-api",
            "category": "test",
            "tool": "pytest",
            "outcome": outcome,
            "count": count,
            "total_duration_s": total,
            "p50_duration_s": p50,
            "p95_duration_s": p50 * 2,
            "cpu_time_s": total / 2,
            "wall_time_s": total,
        }

    laptop = {c.BODY_COMMAND_STATS: [stat(3, 30.0, 10.0), stat(1, 2.0, 2.0, "failure")]}
    desktop = {c.BODY_COMMAND_STATS: [stat(1, 20.0, 20.0)]}
    for body, install in ((laptop, "laptop"), (desktop, "desktop"), (laptop, "laptop")):
        post(
            served, "/v1/logs", summary_request("2026-03-02", body, developer_resource("stats.user", install))
        )
    rows = command_stats_rows(served, "stats.user")
    assert [(r.outcome, r.count, r.total_duration_s, r.p50_duration_s) for r in rows] == [
        ("failure", 1, 2.0, 2.0),
        ("success", 4, 50.0, 12.5),  # (3 x 10 + 1 x 20) / 4
    ]
    bad = {c.BODY_COMMAND_STATS: [stat(1, -5.0, 1.0)]}
    response = post(
        served, "/v1/logs", summary_request("2026-03-02", bad, developer_resource("stats.user", "x"))
    )
    assert response.status_code == 200
    assert len(command_stats_rows(served, "stats.user")) == 2
