"""TLS: a private CA bundle from the sink's ``certificate`` (or OTEL_EXPORTER_OTLP_CERTIFICATE),
for https and for gRPC; an untrusted server is never sent to."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc

from agent import contract as C
from agent.cli import main
from tests.agent.receiver import Receiver, gauge_points
from tests.agent.test_sinks import _Collector


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made by the openssl CLI."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_receiver(certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    server = Receiver().start(tls=certificate)
    yield server
    server.stop()


def test_https_with_the_sinks_ca_bundle(https_receiver, certificate, write_config, env) -> None:
    write_config(
        f'[sinks.main]\ntype = "otlp"\nendpoint = "{https_receiver.url}"\ncertificate = "{certificate[0]}"\n'
    )
    main(["consent", "detailed"])
    assert main(["collect"]) == 0
    assert https_receiver.url.startswith("https://") and gauge_points(https_receiver.ok(), C.M_ACTIVE_HOURS)


def test_untrusted_https_server_gets_nothing_and_the_data_stays(https_receiver, write_config, agent) -> None:
    write_config(f'[sinks.main]\ntype = "otlp"\nendpoint = "{https_receiver.url}"\n')
    main(["collect"])
    status = agent().outbox.status("main")
    assert https_receiver.requests == [] and status.pending == 2
    assert "CERTIFICATE_VERIFY_FAILED" in status.last_failure


def test_otel_certificate_variable_and_a_missing_file(
    https_receiver, certificate, write_config, monkeypatch, capsys
):
    write_config()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", https_receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(certificate[0]))
    assert main(["collect"]) == 0 and https_receiver.ok()
    sent = len(https_receiver.requests)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem")
    main(["consent", "detailed"])  # something new to send
    assert main(["collect"]) == 0  # warned and ignored, as the specification asks...
    assert (
        "OTEL_EXPORTER_OTLP_CERTIFICATE='/nonexistent/ca.pem': not a readable file; ignored"
        in capsys.readouterr().err
    )
    assert len(https_receiver.requests) == sent  # ...and without the CA the private certificate is refused


def test_grpc_over_tls_by_default_for_an_endpoint_without_scheme(certificate, write_config, agent) -> None:
    cert, key = certificate
    collector = _Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(collector, server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(collector, server)
    port = server.add_secure_port(
        "127.0.0.1:0", grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    )
    server.start()
    try:
        write_config(
            f'[sinks.main]\ntype = "otlp"\nprotocol = "grpc"\nendpoint = "127.0.0.1:{port}"\n'
            f'certificate = "{cert}"\n'
        )
        assert main(["collect"]) == 0
        assert collector.logs and agent().outbox.status("main").pending == 0
    finally:
        server.stop(0)
