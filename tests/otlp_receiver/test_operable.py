"""Operating the receiver: one-line CLI errors with exit 2, DevLake's DSN, --version, log lines
that client data cannot forge, and no OTEL_* read without the opt-in."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from otlp_receiver import self_telemetry
from tests.support.processes import ROOT, free_port, start_receiver


def receiver(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otlp_receiver", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_port_out_of_range_is_one_line_exit_2(tmp_path: Path) -> None:
    done = receiver("serve", "--db", f"sqlite:///{tmp_path / 'r.db'}", "--port", "99999")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "devtel-receiver: error: --port 99999 is out of range: 1 to 65535"
    ]


@pytest.mark.parametrize("option", ["--port", "--grpc-port"])
def test_port_in_use_is_one_line_exit_2(tmp_path: Path, option: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"--port": str(free_port()), "--grpc-port": str(free_port()), option: str(port)}
        args = [item for pair in ports.items() for item in pair]
        done = receiver("serve", "--db", f"sqlite:///{tmp_path / 'r.db'}", *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], done.stderr


def test_a_database_unreachable_at_start_is_one_line_exit_2() -> None:
    """A MySQL URL whose server does not answer (a free port: nothing listens) stops serve at once,
    naming the database without its password, instead of serving 503s forever."""
    url = f"mysql+pymysql://root:s3cret@127.0.0.1:{free_port()}/devlake"
    done = receiver("serve", "--db", url, "--port", str(free_port()), "--grpc-port", "0")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("devtel-receiver: error: cannot reach the database mysql+pymysql://root:***@")
    assert "s3cret" not in done.stderr


def test_a_database_directory_that_cannot_be_made_is_one_line_exit_2() -> None:
    done = receiver("connections", "list", "--db", "sqlite:////proc/devtel-nope/r.db")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "devtel-receiver: error: No such file or directory: /proc/devtel-nope"
    ]


@pytest.mark.parametrize("bad", [["serve", "--bogus"], ["connections", "list", "--db", "::not a url"]])
def test_bad_command_lines_are_one_line_exit_2(bad: list[str]) -> None:
    done = receiver(*bad)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.mysql
def test_devlake_style_mysql_url_is_accepted(fresh_mysql_url: str) -> None:
    """DevLake's DB_URL form: mysql://, with the Go driver's parseTime and loc."""
    devlake = (
        fresh_mysql_url.replace("mysql+pymysql://", "mysql://") + "?charset=utf8mb4&parseTime=True&loc=Local"
    )
    created = receiver("connections", "create", "--name", "from-devlake", "--json", "--db", devlake)
    assert created.returncode == 0, created.stderr
    listed = receiver("connections", "list", "--json", "--db", fresh_mysql_url)
    assert [c["name"] for c in json.loads(listed.stdout)] == ["from-devlake"]


def test_both_clis_print_their_version() -> None:
    from importlib.metadata import version

    for module, prog in (("otlp_receiver", "devtel-receiver"), ("agent", "devtel-agent")):
        done = subprocess.run(
            [sys.executable, "-m", module, "--version"], cwd=ROOT, capture_output=True, text=True
        )
        assert done.stdout.strip() == f"{prog} {version('devtel')}"


def test_a_newline_in_a_path_cannot_forge_a_log_line(tmp_path: Path) -> None:
    running = start_receiver(
        f"sqlite:///{tmp_path / 'r.db'}", tmp_path, extra_args=("--access-log", "--log-format", "json")
    )
    try:
        httpx.get(running.url + "/healthz%0aFORGED%20line")
        httpx.get(running.url + "/healthz")
    finally:
        assert running.stop() == 0
    lines = [line for line in running.log().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line is one JSON event
    assert any("FORGED" in e["message"] for e in events)
    assert not any(line.startswith("FORGED") for line in lines)


def test_otel_variables_alone_do_not_turn_on_self_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv(self_telemetry.OPT_IN_ENV, raising=False)
    assert not self_telemetry.requested()
    monkeypatch.setenv(self_telemetry.OPT_IN_ENV, "true")
    assert self_telemetry.requested()
