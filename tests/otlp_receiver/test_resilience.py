"""The receiver under trouble: MariaDB stopped and started, load shed with 429, its own telemetry."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
import sqlalchemy as sa
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub

from bridge.store.database import make_engine
from tests.support.mariadb import PrivateMariaDB
from tests.support.otlp import DayFigures, developer_resource, emit_with_sdk, metrics_request
from tests.support.processes import RunningReceiver, create_connection, free_port, start_receiver

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def stored_hours(db_url: str, connection_id: int, developer: str) -> list[int]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT active_hours FROM _tool_developer_metrics"
                        " WHERE connection_id = :c AND developer_id = :d"
                    ),
                    {"c": connection_id, "d": developer},
                ).scalars()
            )
    finally:
        engine.dispose()


@pytest.fixture
def mysql_receiver(
    private_mariadb: PrivateMariaDB, tmp_path: Path
) -> Iterator[tuple[RunningReceiver, int, str]]:
    """A receiver on a MariaDB server of the test's own: stopping it breaks no other test."""
    db_url = private_mariadb.url
    connection_id, api_key = create_connection(db_url, f"resilience-{tmp_path.name}")
    receiver = start_receiver(
        db_url, tmp_path, grpc_port=free_port(), extra_env={"DEVTEL_RETRY_AFTER_SECONDS": "1"}
    )
    yield receiver, connection_id, api_key
    receiver.stop()


def test_mariadb_stopped_then_started_sdk_retries_land_once(
    mysql_receiver, private_mariadb: PrivateMariaDB
) -> None:
    receiver, connection_id, api_key = mysql_receiver
    auth = {"Authorization": f"Bearer {api_key}"}
    body = metrics_request(DayFigures("2026-04-01").active_hours(3), developer_resource("outage.raw", "i"))
    private_mariadb.stop()
    try:
        down = httpx.post(
            receiver.url + "/v1/metrics", content=body, headers={**PROTOBUF, **auth}, timeout=30
        )
        assert down.status_code == 503 and down.headers["Retry-After"] == "1"
        with (
            grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}") as channel,
            pytest.raises(grpc.RpcError) as caught,
        ):
            MetricsServiceStub(channel).Export(
                ExportMetricsServiceRequest.FromString(body),
                metadata=(("authorization", auth["Authorization"]),),
                timeout=30,
            )
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "google.rpc.retryinfo-bin" in dict(caught.value.trailing_metadata() or ())

        def send_with_sdk() -> None:
            emit_with_sdk(
                DayFigures("2026-04-01").active_hours(5),
                developer_resource("outage.http", "i"),
                HttpMetricExporter(endpoint=receiver.url + "/v1/metrics", headers=auth, timeout=30),
            )
            emit_with_sdk(
                DayFigures("2026-04-01").active_hours(6),
                developer_resource("outage.grpc", "i"),
                GrpcMetricExporter(
                    endpoint=f"127.0.0.1:{receiver.grpc_port}",
                    insecure=True,
                    headers=(("authorization", auth["Authorization"]),),
                    timeout=30,
                ),
            )

        sender = threading.Thread(target=send_with_sdk)
        sender.start()
        time.sleep(1.5)  # the exporters meet 503/UNAVAILABLE and back off
    finally:
        private_mariadb.start()
    sender.join(timeout=60)
    assert stored_hours(receiver.db_url, connection_id, "outage.http") == [5]
    assert stored_hours(receiver.db_url, connection_id, "outage.grpc") == [6]
    text = httpx.get(receiver.url + "/metrics").text
    assert 'devtel_receiver_requests_total{route="/v1/metrics",status="503"}' in text
    assert "Traceback" not in receiver.log()


def test_overload_is_shed_with_429_and_retry_after(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'shed.db'}"
    connection_id, api_key = create_connection(db_url, "shed")
    receiver = start_receiver(db_url, tmp_path, extra_env={"DEVTEL_MAX_PENDING_WRITES": "1"})
    try:
        headers = {**PROTOBUF, "Authorization": f"Bearer {api_key}"}
        bodies = [
            metrics_request(DayFigures("2026-04-02").active_hours(2), developer_resource(f"shed{i}", "i"))
            for i in range(200)
        ]
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(32) as pool:
            responses = list(
                pool.map(
                    lambda b: client.post(receiver.url + "/v1/metrics", content=b, headers=headers), bodies
                )
            )
        statuses = {r.status_code for r in responses}
        assert statuses <= {200, 429} and 429 in statuses, statuses
        assert all(r.headers.get("Retry-After") for r in responses if r.status_code == 429)
        assert connection_id > 0
    finally:
        receiver.stop()


def test_receiver_exports_its_own_telemetry_when_otel_variables_ask(tmp_path: Path) -> None:
    """One receiver watches another: the second takes the first's traces and metrics (and ignores them)."""
    watcher_db = f"sqlite:///{tmp_path / 'watcher.db'}"
    _, watcher_key = create_connection(watcher_db, "watcher")
    watcher = start_receiver(watcher_db, tmp_path)
    watched_db = f"sqlite:///{tmp_path / 'watched.db'}"
    connection_id, api_key = create_connection(watched_db, "watched")
    watched = start_receiver(
        watched_db,
        tmp_path,
        extra_env={
            "DEVTEL_SELF_TELEMETRY": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": watcher.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer {watcher_key}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
        },
    )
    try:
        body = metrics_request(
            DayFigures("2026-04-03").active_hours(4), developer_resource("watched.dev", "i")
        )
        response = httpx.post(
            watched.url + "/v1/metrics",
            content=body,
            headers={**PROTOBUF, "Authorization": f"Bearer {api_key}"},
        )
        assert response.status_code == 200
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:
            text = httpx.get(watcher.url + "/metrics").text
            if 'route="/v1/traces",status="200"' in text and 'route="/v1/metrics",status="200"' in text:
                break
            time.sleep(0.2)
        assert 'route="/v1/traces",status="200"' in text
        assert 'route="/v1/metrics",status="200"' in text
        assert stored_hours(watched_db, connection_id, "watched.dev") == [4]
    finally:
        watched.stop()
        watcher.stop()
