"""Running the real `devtel-receiver` as a subprocess, the way an operator would."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def receiver_cli(
    *args: str, db_url: str, check: bool = True, source: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """``source``: the tree whose CLI runs (the benchmarks compare against an older one)."""
    return subprocess.run(
        [sys.executable, "-m", "otlp_receiver", *args, "--db", db_url],
        cwd=source,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def create_connection(db_url: str, name: str, source: Path = ROOT) -> tuple[int, str]:
    created = json.loads(
        receiver_cli("connections", "create", "--name", name, "--json", db_url=db_url, source=source).stdout
    )
    return created["id"], created["api_key"]


@dataclass
class RunningReceiver:
    db_url: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    grpc_port: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_receiver(
    db_url: str,
    log_dir: Path,
    *,
    grpc_port: int = 0,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    source: Path = ROOT,
    health_url_ca: Path | None = None,
    health_client: tuple[Path, Path] | None = None,
) -> RunningReceiver:
    """Start `devtel-receiver serve` and wait until /healthz answers.

    ``health_url_ca``: the receiver serves TLS; probe it over https trusting that CA (and with the
    ``health_client`` certificate and key when it asks for one).

    ``port`` restarts a receiver where its clients expect it; the log is appended to, not replaced.
    ``source`` is the tree whose receiver runs (the benchmarks compare against an older one).
    """
    port = port or free_port()
    log_path = log_dir / f"receiver-{port}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "otlp_receiver",
                "serve",
                "--db",
                db_url,
                "--port",
                str(port),
                "--grpc-port",
                str(grpc_port),
                *extra_args,
            ],
            cwd=source,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    running = RunningReceiver(db_url, port, log_path, process, grpc_port, env)
    health = f"{running.url}/healthz"
    verify: ssl.SSLContext | bool = True
    if health_url_ca is not None:
        health = health.replace("http://", "https://")
        verify = ssl.create_default_context(cafile=str(health_url_ca))
        if health_client is not None:
            verify.load_cert_chain(*health_client)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"receiver exited with {process.returncode}:\n{running.log()}")
        try:
            if httpx.get(health, timeout=1, verify=verify).status_code == 200:
                return running
        except httpx.TransportError:
            time.sleep(0.1)
    running.stop()
    raise RuntimeError(f"receiver did not become healthy:\n{running.log()}")
