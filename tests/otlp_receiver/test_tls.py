"""TLS on both ports: the real OpenTelemetry SDK exporters (http/protobuf and gRPC) and curl
--cacert, mutual TLS, and a certificate swapped under a running receiver with SIGHUP.

Certificates are made by openssl in the test's temporary directory.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa

from bridge.store.database import make_engine
from tests.support.otlp import DayFigures, developer_resource, emit_with_sdk
from tests.support.processes import RunningReceiver, create_connection, free_port, start_receiver


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
             "-days", "2", "-subj", f"/CN={name}", cwd=directory)  # fmt: skip
    return directory / f"{name}.pem"


def issue(directory: Path, ca: str, name: str, *, server: bool) -> tuple[Path, Path]:
    """A certificate signed by ``ca`` (for 127.0.0.1/localhost when ``server``): (cert, key)."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={name}", cwd=directory)  # fmt: skip
    extension = "subjectAltName=DNS:localhost,IP:127.0.0.1" if server else "extendedKeyUsage=clientAuth"
    (directory / f"{name}.ext").write_text(extension + "\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
             cwd=directory)  # fmt: skip
    return directory / f"{name}.pem", directory / f"{name}.key"


def curl(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *args, url],
        capture_output=True,
        text=True,
        timeout=30,
    )


def stored_hours(db_url: str, developer: str) -> list[int]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT active_hours FROM _tool_developer_metrics WHERE developer_id = :d"),
                {"d": developer},
            )
            return [r[0] for r in rows]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def tls_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningReceiver, Path, str]]:
    workdir = tmp_path_factory.mktemp("tls")
    ca = make_ca(workdir, "ca")
    cert, key = issue(workdir, "ca", "server", server=True)
    db_url = f"sqlite:///{workdir / 'receiver.db'}"
    _, api_key = create_connection(db_url, "tls")
    running = start_receiver(
        db_url,
        workdir,
        grpc_port=free_port(),
        extra_args=("--tls-cert", str(cert), "--tls-key", str(key)),
        health_url_ca=ca,
    )
    yield running, ca, api_key
    assert running.stop() == 0, running.log()


def test_curl_with_the_ca_reaches_health_and_plain_http_does_not(
    tls_receiver: tuple[RunningReceiver, Path, str],
) -> None:
    running, ca, _ = tls_receiver
    https = f"https://127.0.0.1:{running.port}/healthz"
    assert curl(https, "--cacert", str(ca)).stdout == "200"
    assert curl(https).returncode != 0  # no trust in the test CA: the handshake is refused
    assert curl(f"http://127.0.0.1:{running.port}/healthz").stdout != "200"


def test_sdk_http_protobuf_exporter_over_tls(
    tls_receiver: tuple[RunningReceiver, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    running, ca, api_key = tls_receiver
    # requests lets these variables override the exporter's own certificate_file (docs/receiver.md).
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    exporter = OTLPMetricExporter(
        endpoint=f"https://localhost:{running.port}/v1/metrics",
        certificate_file=str(ca),
        headers={"Authorization": f"Bearer {api_key}"},
    )
    emit_with_sdk(DayFigures("2026-05-04").active_hours(6), developer_resource("tls.http", "i1"), exporter)
    assert stored_hours(running.db_url, "tls.http") == [6]


def test_sdk_grpc_exporter_over_tls(tls_receiver: tuple[RunningReceiver, Path, str]) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    running, ca, api_key = tls_receiver
    exporter = OTLPMetricExporter(
        endpoint=f"localhost:{running.grpc_port}",
        insecure=False,
        credentials=grpc.ssl_channel_credentials(ca.read_bytes()),
        headers={"authorization": f"Bearer {api_key}"},
    )
    emit_with_sdk(DayFigures("2026-05-04").active_hours(7), developer_resource("tls.grpc", "i2"), exporter)
    assert stored_hours(running.db_url, "tls.grpc") == [7]


def test_mutual_tls_and_sighup_reload(tmp_path: Path) -> None:
    first_ca = make_ca(tmp_path, "ca1")
    cert, key = issue(tmp_path, "ca1", "server", server=True)
    client_cert, client_key = issue(tmp_path, "ca1", "client", server=False)
    db_url = f"sqlite:///{tmp_path / 'receiver.db'}"
    create_connection(db_url, "mtls")
    running = start_receiver(
        db_url,
        tmp_path,
        extra_args=("--tls-cert", str(cert), "--tls-key", str(key), "--tls-client-ca", str(first_ca)),
        health_url_ca=first_ca,
        health_client=(client_cert, client_key),
    )
    try:
        url = f"https://127.0.0.1:{running.port}/healthz"
        client = ("--cert", str(client_cert), "--key", str(client_key))
        assert curl(url, "--cacert", str(first_ca), *client).stdout == "200"
        assert curl(url, "--cacert", str(first_ca)).stdout != "200"  # no client certificate
        # A new CA and server certificate written over the old files, then SIGHUP.
        second = tmp_path / "second"
        make_ca(second, "ca2")
        new_cert, new_key = issue(second, "ca2", "server", server=True)
        cert.write_bytes(new_cert.read_bytes())
        key.write_bytes(new_key.read_bytes())
        running.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while (
            time.monotonic() < deadline
            and curl(url, "--cacert", str(second / "ca2.pem"), *client).stdout != "200"
        ):
            time.sleep(0.2)
        assert curl(url, "--cacert", str(second / "ca2.pem"), *client).stdout == "200"
        assert running.process.poll() is None
    finally:
        assert running.stop() == 0, running.log()
