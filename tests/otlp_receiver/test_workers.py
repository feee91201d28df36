"""`devtel-receiver serve --workers N`: several real receiver processes on one port, on MariaDB."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import psutil
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub

from tests.support.db import fetch
from tests.support.otlp import DayFigures, developer_resource, metrics_request
from tests.support.processes import RunningReceiver, create_connection, free_port, start_receiver

pytestmark = pytest.mark.mysql
PROTOBUF = {"Content-Type": "application/x-protobuf"}
DATE = "2026-05-04"
SERVE = (sys.executable, "-m", "otlp_receiver", "serve")


def _worker_pids(receiver: RunningReceiver) -> dict[int, int]:
    """worker index -> pid of its newest process, from the supervisor's log."""
    return {int(i): int(p) for i, p in re.findall(r"worker (\d+) started \(pid (\d+)\)", receiver.log())}


def _listening(pid: int, port: int) -> bool:
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _all_listening(receiver: RunningReceiver, workers: int) -> bool:
    pids = _worker_pids(receiver)
    return len(pids) == workers and all(_listening(pid, receiver.port) for pid in pids.values())


@pytest.fixture
def two_workers(fresh_mysql_url: str, tmp_path: Path) -> Iterator[tuple[RunningReceiver, int, str]]:
    connection_id, api_key = create_connection(fresh_mysql_url, "workers")
    receiver = start_receiver(fresh_mysql_url, tmp_path, grpc_port=free_port(), extra_args=("--workers", "2"))
    _wait_for(lambda: _all_listening(receiver, 2), "both workers to listen")
    yield receiver, connection_id, api_key
    receiver.stop()


def _requests_counted(receiver: RunningReceiver) -> float:
    text = httpx.get(receiver.url + "/metrics").text
    found = re.search(r'devtel_receiver_requests_total\{route="/v1/metrics",status="200"\} (\S+)', text)
    return float(found.group(1)) if found else 0.0


def _stored_days(db_url: str, connection_id: int) -> dict[str, int]:
    sql = "SELECT developer_id, active_hours FROM _tool_developer_metrics WHERE connection_id = :c"
    return {r.developer_id: r.active_hours for r in fetch(db_url, sql, c=connection_id)}


def test_workers_share_the_port_store_everything_and_report_one_set_of_metrics(
    two_workers: tuple[RunningReceiver, int, str],
) -> None:
    receiver, connection_id, api_key = two_workers
    headers = {**PROTOBUF, "Authorization": f"Bearer {api_key}"}
    sent = 60
    for n in range(sent):  # a new connection each time: the kernel spreads them over the workers
        figures = DayFigures(DATE).active_hours(n % 9 + 1)
        body = metrics_request(figures, developer_resource(f"dev{n}", f"i{n}"))
        with httpx.Client(headers=headers) as client:
            assert client.post(receiver.url + "/v1/metrics", content=body).status_code == 200
    assert _stored_days(receiver.db_url, connection_id) == {f"dev{n}": n % 9 + 1 for n in range(sent)}
    # Whichever worker answers the scrape, it reports both workers' requests.
    assert {_requests_counted(receiver) for _ in range(10)} == {float(sent)}

    with grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}") as channel:
        request = ExportMetricsServiceRequest.FromString(
            metrics_request(DayFigures(DATE).active_hours(4), developer_resource("grpc-dev", "g1"))
        )
        metadata = (("authorization", f"Bearer {api_key}"),)
        MetricsServiceStub(channel).Export(request, metadata=metadata, timeout=10)
    assert _stored_days(receiver.db_url, connection_id)["grpc-dev"] == 4


def test_a_killed_worker_is_started_again_and_sigterm_stops_them_all(
    two_workers: tuple[RunningReceiver, int, str],
) -> None:
    receiver, _, _ = two_workers
    old = _worker_pids(receiver)
    supervisor = psutil.Process(receiver.process.pid)
    time.sleep(10)  # past the start-up window, in which a death stops the receiver instead
    psutil.Process(old[1]).kill()
    _wait_for(lambda: _worker_pids(receiver)[1] != old[1], "worker 1 to be started again")
    _wait_for(lambda: _all_listening(receiver, 2), "the new worker to listen")
    assert "starting it again" in receiver.log()
    assert httpx.get(receiver.url + "/healthz").status_code == 200

    workers = [psutil.Process(pid) for pid in _worker_pids(receiver).values()]
    assert receiver.stop(signal.SIGTERM) == 0, receiver.log()
    assert not supervisor.is_running()
    assert not any(w.is_running() for w in workers)


def test_a_port_in_use_stops_the_receiver_with_a_clear_error(fresh_mysql_url: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:  # bound without SO_REUSEPORT
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*SERVE, "--db", fresh_mysql_url, "--port", str(port), "--grpc-port", "0", "--workers", "2"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "while starting; stopping" in result.stderr


@pytest.mark.parametrize(
    ("workers", "db", "message"),
    [
        ("0", "mysql", "must be between 1 and 64"),
        ("65", "mysql", "must be between 1 and 64"),
        ("two", "mysql", "invalid int value"),
        ("2", "sqlite", "several workers need MySQL/MariaDB"),
    ],
)
def test_bad_worker_counts_are_refused(
    fresh_mysql_url: str, tmp_path: Path, workers: str, db: str, message: str
) -> None:
    url = fresh_mysql_url if db == "mysql" else f"sqlite:///{tmp_path / 'r.db'}"
    result = subprocess.run(
        [*SERVE, "--db", url, "--workers", workers],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr
