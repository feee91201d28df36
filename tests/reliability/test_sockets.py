"""Idle, slow and oversized connections never stop the health probe (otlp_receiver/http_protocol.py).

The receiver runs with a low connection cap and a short header timeout so a few hundred sockets
exceed the cap; the figures for 1,000 sockets are in tests/benchmarks/hostile_figures.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import RunningReceiver, start_receiver

CAP = 40


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[RunningReceiver]:
    running = start_receiver(
        f"sqlite:///{tmp_path / 'receiver.db'}",
        tmp_path,
        extra_env={
            "DEVTEL_MAX_CONNECTIONS": str(CAP),
            "DEVTEL_HEADER_TIMEOUT_SECONDS": "2",
            "DEVTEL_MAX_HEADER_BYTES": "4096",
        },
    )
    yield running
    assert running.stop() == 0, running.log()


def _open(port: int, count: int, first_bytes: bytes = b"") -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


def test_idle_and_slow_header_sockets_past_the_cap_do_not_stop_probes(guarded: RunningReceiver) -> None:
    idle = _open(guarded.port, 5 * CAP)
    slow = _open(guarded.port, CAP, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finish
    try:
        answers = [httpx.get(guarded.url + "/healthz", timeout=20).status_code for _ in range(20)]
        assert answers == [200] * 20
    finally:
        for sock in idle + slow:
            sock.close()


def test_a_connection_that_never_finishes_its_headers_is_closed(guarded: RunningReceiver) -> None:
    (sock,) = _open(guarded.port, 1, b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\n")
    with sock:
        assert sock.recv(1024) == b""  # closed by the receiver (the socket's own timeout is 30 s)


def test_oversized_headers_get_431_naming_the_limit(guarded: RunningReceiver) -> None:
    answer = httpx.get(guarded.url + "/healthz", headers={"X-Padding": "x" * 8000}, timeout=20)
    assert answer.status_code == 431
    assert "DEVTEL_MAX_HEADER_BYTES" in answer.json()["message"]
    assert httpx.get(guarded.url + "/healthz", timeout=20).status_code == 200
