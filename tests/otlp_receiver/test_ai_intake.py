"""Claude Code's, Gemini CLI's and devtel's own AI metrics into _tool_developer_ai_metrics, through a
running receiver on SQLite and MariaDB: delta and cumulative, duplicates, counter resets."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import httpx
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import Gauge, NumberDataPoint

from agent import contract as c
from bridge.mapping.otlp_values import to_key_values
from tests.otlp_receiver.conftest import Served
from tests.support.ai_tools import (
    CUMULATIVE,
    DELTA,
    ToolProcess,
    ai_rows,
    claude_resource,
    claude_session,
    gemini_attrs,
    gemini_resource,
    temporality,
)
from tests.support.processes import ROOT, create_connection, start_receiver

PROTOBUF = {"Content-Type": "application/x-protobuf"}
CLAUDE_SCOPE, GEMINI_SCOPE = "com.anthropic.claude_code", "gemini-cli"
ZERO = {
    "suggestions_shown": 0.0,
    "suggestions_accepted": 0.0,
    "lines_added": 0.0,
    "lines_removed": 0.0,
    "sessions": 0.0,
    "tokens": 0.0,
    "cost_usd": 0.0,
    "wait_s": 0.0,
    "commits": 0.0,
    "pull_requests": 0.0,
    "active_s": 0.0,
    "turns": 0.0,
    "api_requests": 0.0,
    "time_saved_s": 0.0,
}


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def post(served: Served, body: bytes) -> ExportMetricsServiceResponse:
    answer = httpx.post(
        served.receiver.url + "/v1/metrics", content=body, headers={**PROTOBUF, **served.auth()}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return ExportMetricsServiceResponse.FromString(answer.content)


def claude_rows(sessions: int = 1, lines: int = 120, removed: int = 30) -> dict:
    date = today()
    return {
        ("claude_code", "unknown", "agent"): {
            **ZERO,
            "date": date,
            "lines_added": float(lines),
            "lines_removed": float(removed),
            "sessions": float(sessions),
            "tokens": 1500.0 * sessions,
            "cost_usd": round(0.42 * sessions, 6),
            "commits": 1.0 * sessions,  # Claude Code's AI-assisted commits and active time are kept
            "active_s": 300.0 * sessions,
            "time_saved_s": lines * 12.0,
        },
        ("claude_code", "python", "agent"): {
            **ZERO,
            "date": date,
            "suggestions_shown": 4.0 * sessions,
            "suggestions_accepted": 3.0 * sessions,
        },
        ("claude_code", "typescript", "agent"): {
            **ZERO,
            "date": date,
            "suggestions_shown": 1.0 * sessions,
            "suggestions_accepted": 1.0 * sessions,
        },
    }


def test_claude_code_over_http_with_its_default_delta_temporality(served: Served) -> None:
    exporter = HttpMetricExporter(
        endpoint=served.receiver.url + "/v1/metrics",
        headers=served.auth(),
        preferred_temporality=temporality(DELTA),
    )
    process = ToolProcess(claude_resource(), CLAUDE_SCOPE, exporter=exporter)
    claude_session(process, "ana@example.com", "s-1")
    process.flush()
    claude_session(process, "ana@example.com", "s-1")  # a second export carries only the new deltas
    process.flush()
    process.close()
    assert ai_rows(served.receiver.db_url, served.connection_id, "ana@example.com") == claude_rows(
        sessions=2, lines=240, removed=60
    )


def test_replayed_delta_requests_change_nothing(served: Served) -> None:
    process = ToolProcess(claude_resource(), CLAUDE_SCOPE, DELTA)
    claude_session(process, "ben@example.com", "s-1")
    first = process.request()
    claude_session(process, "ben@example.com", "s-1")
    second = process.request()
    for body in (first, first, second, first, second):  # retries, and a late duplicate of the first
        post(served, body)
    assert ai_rows(served.receiver.db_url, served.connection_id, "ben@example.com") == claude_rows(
        sessions=2, lines=240, removed=60
    )


def test_cumulative_points_count_their_increase_once(served: Served) -> None:
    process = ToolProcess(claude_resource(), CLAUDE_SCOPE, CUMULATIVE)
    claude_session(process, "cai@example.com", "s-1")
    first = process.request()
    claude_session(process, "cai@example.com", "s-1")
    second = process.request()
    for body in (first, second, second, first):  # an older total arriving late adds nothing
        post(served, body)
    assert ai_rows(served.receiver.db_url, served.connection_id, "cai@example.com") == claude_rows(
        sessions=2, lines=240, removed=60
    )


def test_a_restarted_process_is_a_counter_reset_not_a_loss(served: Served) -> None:
    before = ToolProcess(claude_resource(), CLAUDE_SCOPE, CUMULATIVE)
    claude_session(before, "dee@example.com", "s-1")
    claude_session(before, "dee@example.com", "s-1")
    post(served, before.request())
    time.sleep(0.01)
    after = ToolProcess(claude_resource(), CLAUDE_SCOPE, CUMULATIVE)  # new start time, totals from 0
    claude_session(after, "dee@example.com", "s-1")
    post(served, after.request())
    assert ai_rows(served.receiver.db_url, served.connection_id, "dee@example.com") == claude_rows(
        sessions=3, lines=360, removed=90
    )


def test_a_cumulative_value_that_drops_without_a_new_start_is_a_reset(served: Served) -> None:
    process = ToolProcess(claude_resource(), CLAUDE_SCOPE, CUMULATIVE)
    process.add("claude_code.lines_of_code.count", 100, {"user.email": "eve@example.com", "type": "added"})
    high = ExportMetricsServiceRequest.FromString(process.request())
    low = ExportMetricsServiceRequest.FromString(process.request())
    point = low.resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0]
    point.as_int = 40  # the counter restarted at the same start time and counted 40 since
    post(served, high.SerializeToString())
    post(served, low.SerializeToString())
    row = ai_rows(served.receiver.db_url, served.connection_id, "eve@example.com")[
        ("claude_code", "unknown", "agent")
    ]
    assert row["lines_added"] == 140.0


def test_gemini_cli_over_grpc_with_decisions_lines_and_waiting(served: Served) -> None:
    exporter = GrpcMetricExporter(
        endpoint=f"127.0.0.1:{served.receiver.grpc_port}",
        insecure=True,
        headers=(("authorization", f"Bearer {served.api_key}"),),
        preferred_temporality=temporality(CUMULATIVE),
    )
    process = ToolProcess(gemini_resource(), GEMINI_SCOPE, exporter=exporter)
    std = gemini_attrs("fay@example.com", "g-1")
    process.add("gemini_cli.session.count", 1, std)
    for decision, n in (("accept", 2), ("auto_accept", 1), ("modify", 1), ("reject", 2)):
        call = {
            **std,
            "function_name": "replace",
            "success": True,
            "decision": decision,
            "tool_type": "native",
        }
        process.add("gemini_cli.tool.call.count", n, call)
    process.add("gemini_cli.tool.call.count", 5, {**std, "function_name": "read_file", "success": True})
    process.add("gemini_cli.lines.changed", 50, {**std, "function_name": "replace", "type": "added"})
    process.add("gemini_cli.lines.changed", 10, {**std, "function_name": "replace", "type": "removed"})
    process.add("gemini_cli.token.usage", 900, {**std, "model": "gemini-2.5-pro", "type": "input"})
    # input already holds the cache: counted once
    process.add("gemini_cli.token.usage", 300, {**std, "model": "gemini-2.5-pro", "type": "cache"})
    process.record("gemini_cli.api.request.latency", 2000, {**std, "model": "gemini-2.5-pro"})
    process.record("gemini_cli.api.request.latency", 3000, {**std, "model": "gemini-2.5-pro"})
    process.add(
        "gemini_cli.file.operation.count", 1, {**std, "operation": "update", "programming_language": "Go"}
    )
    process.flush()
    process.flush()  # the same cumulative totals again: nothing more
    process.close()
    rows = ai_rows(served.receiver.db_url, served.connection_id, "fay@example.com")
    assert rows == {
        ("gemini_cli", "unknown", "agent"): {
            **ZERO,
            "date": today(),
            "suggestions_shown": 6.0,
            "suggestions_accepted": 4.0,
            "lines_added": 50.0,
            "lines_removed": 10.0,
            "sessions": 1.0,
            "tokens": 900.0,
            "wait_s": 5.0,
            "time_saved_s": 50 * 12.0 - 5.0,
        },
        # a written file names its language: an accepted suggestion in Go
        ("gemini_cli", "go", "agent"): {
            **ZERO,
            "date": today(),
            "suggestions_shown": 1.0,
            "suggestions_accepted": 1.0,
        },
    }


def devtel_ai_request(
    install: str, date: str, shown: int, accepted: int, lines: int, stamp: int, developer: str = "gus"
) -> bytes:
    """devtel's own full-day gauges, as `devtel-agent ai record` sends them."""
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(
        to_key_values(
            {c.RES_SERVICE_NAME: c.SERVICE_NAME, c.RES_INSTANCE_ID: install, c.RES_DEVELOPER_ID: developer}
        )
    )
    sm = rm.scope_metrics.add()
    attrs = {
        c.ATTR_DATE: date,
        c.ATTR_AI_TOOL: "copilot",
        c.ATTR_AI_LANGUAGE: "python",
        c.ATTR_AI_FEATURE: "chat",
    }
    for name, value in ((c.M_AI_SHOWN, shown), (c.M_AI_ACCEPTED, accepted), (c.M_AI_LINES, lines)):
        sm.metrics.add(name=name, unit=c.AI_UNITS[name], gauge=Gauge()).gauge.data_points.append(
            NumberDataPoint(as_int=value, time_unix_nano=stamp, attributes=to_key_values(attrs))
        )
    return request.SerializeToString()


def test_devtel_full_day_totals_replace_per_install_and_add_across_installs(served: Served) -> None:
    now = time.time_ns()
    post(served, devtel_ai_request("laptop", "2026-03-02", 5, 3, 42, now))
    post(served, devtel_ai_request("laptop", "2026-03-02", 9, 6, 80, now + 10))  # a newer total
    post(served, devtel_ai_request("laptop", "2026-03-02", 5, 3, 42, now))  # the old one, replayed
    post(served, devtel_ai_request("desktop", "2026-03-02", 2, 1, 10, now))
    rows = ai_rows(served.receiver.db_url, served.connection_id, "gus")
    assert rows == {
        ("copilot", "python", "chat"): {
            **ZERO,
            "date": "2026-03-02",
            "suggestions_shown": 11.0,
            "suggestions_accepted": 7.0,
            "lines_added": 90.0,
            "time_saved_s": 90 * 12.0,
        }
    }


def test_bad_ai_points_are_rejected_with_reasons_and_store_nothing(served: Served) -> None:
    process = ToolProcess(claude_resource(), CLAUDE_SCOPE, DELTA)
    process.add("claude_code.session.count", 1, {"session.id": "no-user"})  # names no developer
    process.add("claude_code.lines_of_code.count", 5, {"user.email": "hal@example.com", "type": "moved"})
    process.add("claude_code.lines_of_code.count", 5, {"user.email": "hal@example.com", "type": "added"})
    answer = post(served, process.request())
    assert answer.partial_success.rejected_data_points == 2
    assert "names no developer" in answer.partial_success.error_message
    assert "'added' or 'removed'" in answer.partial_success.error_message
    rows = ai_rows(served.receiver.db_url, served.connection_id, "hal@example.com")
    assert rows[("claude_code", "unknown", "agent")]["lines_added"] == 5.0


def test_devtel_points_with_a_bad_feature_or_no_tool_are_rejected(served: Served) -> None:
    request = ExportMetricsServiceRequest.FromString(
        devtel_ai_request("x", "2026-03-03", 1, 1, 1, time.time_ns())
    )
    points = [m.gauge.data_points[0] for m in request.resource_metrics[0].scope_metrics[0].metrics]
    points[0].attributes[3].value.string_value = "mind-reading"
    del points[1].attributes[1]  # no devtel.ai.tool
    points[2].as_int = -4
    future = ExportMetricsServiceRequest.FromString(
        devtel_ai_request("x", "2999-01-01", 1, 1, 1, time.time_ns())
    )
    request.resource_metrics.extend(future.resource_metrics)
    answer = post(served, request.SerializeToString())
    assert answer.partial_success.rejected_data_points == 6
    message = answer.partial_success.error_message
    assert "not one of completion" in message and "devtel.ai.tool: is required" in message
    assert "must be a number from 0" in message and "2999-01-01 is in the future" in message
    assert ai_rows(served.receiver.db_url, served.connection_id, "gus-nobody") == {}


def test_seconds_per_line_is_the_receivers_setting_never_the_clients(tmp_path) -> None:
    db_url = f"sqlite:///{tmp_path / 'ai.db'}"
    connection_id, api_key = create_connection(db_url, "ai")
    receiver = start_receiver(db_url, tmp_path, extra_env={"DEVTEL_AI_SECONDS_PER_LINE": "30"})
    try:
        process = ToolProcess(claude_resource(), CLAUDE_SCOPE, DELTA)
        attrs = {"user.email": "ida@example.com", "time_saved_s": 99999}
        process.add("claude_code.lines_of_code.count", 10, {**attrs, "type": "added"})
        answer = httpx.post(
            receiver.url + "/v1/metrics",
            content=process.request(),
            headers={**PROTOBUF, "Authorization": f"Bearer {api_key}"},
        )
        assert answer.status_code == 200
        row = ai_rows(db_url, connection_id, "ida@example.com")[("claude_code", "unknown", "agent")]
        assert row["time_saved_s"] == 300.0
    finally:
        assert receiver.stop() == 0, receiver.log()


def test_a_bad_seconds_per_line_setting_stops_the_receiver_with_a_clear_error(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "otlp_receiver", "serve", "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DEVTEL_AI_SECONDS_PER_LINE": "lots"},
        timeout=60,
    )
    assert done.returncode == 2 and "DEVTEL_AI_SECONDS_PER_LINE='lots' is not a number" in done.stderr


def test_two_replicas_writing_the_same_requests_at_once_count_them_once(mysql_url: str, tmp_path) -> None:
    """Replicas share one MariaDB: duplicated delta and cumulative requests race and still count once."""
    from concurrent.futures import ThreadPoolExecutor

    connection_id, api_key = create_connection(mysql_url, f"replicas-{tmp_path.name}"[:60])
    replicas = [start_receiver(mysql_url, tmp_path) for _ in range(2)]
    try:
        delta = ToolProcess(claude_resource(), CLAUDE_SCOPE, DELTA)
        cumulative = ToolProcess(claude_resource(), CLAUDE_SCOPE, CUMULATIVE)
        bodies = []
        for _ in range(3):
            claude_session(delta, "race@example.com", "s-d")
            claude_session(cumulative, "race@example.com", "s-c")
            bodies += [delta.request(), cumulative.request()]
        headers = {**PROTOBUF, "Authorization": f"Bearer {api_key}"}

        def send(job: tuple[int, bytes]) -> int:
            index, body = job
            url = replicas[index % 2].url + "/v1/metrics"
            return httpx.post(url, content=body, headers=headers, timeout=60).status_code

        jobs = [(i, body) for i in range(4) for body in bodies]  # every request 4 times, both replicas
        with ThreadPoolExecutor(max_workers=16) as pool:
            assert set(pool.map(send, jobs)) == {200}
        rows = ai_rows(mysql_url, connection_id, "race@example.com")
        # Both processes ran 3 sessions: 6 in all, each counted once.
        assert rows[("claude_code", "unknown", "agent")]["sessions"] == 6.0
        assert rows[("claude_code", "python", "agent")]["suggestions_shown"] == 24.0
    finally:
        for replica in replicas:
            assert replica.stop() == 0, replica.log()


def test_a_long_running_cumulative_stream_outlives_the_retention_of_its_first_day(
    db_url: str, tmp_path
) -> None:
    """The stream's state is dated by its newest point, so pruning old days never makes it count twice."""
    connection_id, api_key = create_connection(db_url, "long-stream")
    receiver = start_receiver(db_url, tmp_path)
    headers = {**PROTOBUF, "Authorization": f"Bearer {api_key}"}
    process = ToolProcess(claude_resource(), CLAUDE_SCOPE, CUMULATIVE)
    attrs = {"user.email": "kim@example.com", "type": "added"}
    now = time.time_ns()
    try:
        days_ago = (100, 0, 0)
        for step, (added, ago) in enumerate(zip((10, 5, 5), days_ago, strict=True)):  # totals 10, 15, 20
            process.add("claude_code.lines_of_code.count", added, attrs)
            request = ExportMetricsServiceRequest.FromString(process.request())
            point = request.resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0]
            point.start_time_unix_nano = now - 200 * 86400 * 10**9
            point.time_unix_nano = now - ago * 86400 * 10**9 + step
            answer = httpx.post(
                receiver.url + "/v1/metrics", content=request.SerializeToString(), headers=headers
            )
            assert answer.status_code == 200
            if step == 1:  # the first day is past the 90 days: pruned, with the state dated by it
                pruned = subprocess.run(
                    [sys.executable, "-m", "otlp_receiver", "prune", "--db", db_url],
                    cwd=ROOT,
                    capture_output=True,
                    check=False,
                )
                assert pruned.returncode == 0, pruned.stderr
        rows = ai_rows(db_url, connection_id, "kim@example.com")
        assert [r["lines_added"] for r in rows.values()] == [
            10.0
        ]  # today's 5 + 5; the 100-day-old 10 is pruned
    finally:
        assert receiver.stop() == 0, receiver.log()


def test_a_mapped_name_of_the_wrong_kind_rejects_every_point(served: Served) -> None:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(to_key_values({"user.email": "lee@example.com"}))
    metric = rm.scope_metrics.add().metrics.add(name="claude_code.session.count")
    for _ in range(3):
        metric.summary.data_points.add(time_unix_nano=time.time_ns(), count=1, sum=1.0)
    answer = post(served, request.SerializeToString())
    assert answer.partial_success.rejected_data_points == 3
    assert "a summary cannot feed the AI table" in answer.partial_success.error_message
    assert ai_rows(served.receiver.db_url, served.connection_id, "lee@example.com") == {}
