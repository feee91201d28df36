"""``devtel-agent run`` as the AI CLIs' local relay, as a developer runs it: a process of its own with
two sinks, the real devtel receiver and a tap that keeps every byte the agent sent, so a test can
count what left the relay that is not on the allowlist."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import ai_contract as ai
from agent import contract as c
from tests.agent.receiver import Receiver
from tests.support.processes import ROOT, free_port

LOGIN = "ana-login"  # the developer's login: the agent's named identity
# What the relay adds to every resource: the agent's identity, never the tool's.
RELAY_RESOURCE_KEYS = frozenset(
    {
        c.RES_DEVELOPER_ID,
        c.RES_EMAIL,
        c.RES_FULL_NAME,
        c.RES_HOST_NAME,
        c.RES_IDENTITY_MODE,
        c.RES_INSTANCE_ID,
    }
)


@dataclass
class RunningRelay:
    http_port: int
    grpc_port: int
    tap: Receiver
    process: subprocess.Popen[str]

    def endpoint(self, protocol: str) -> str:
        return f"http://127.0.0.1:{self.grpc_port if protocol == 'grpc' else self.http_port}"


def _agent_env(tmp: Path, login: str) -> dict[str, str]:
    gitconfig = tmp / "gitconfig"
    gitconfig.write_text("[user]\n\temail = ana@example.com\n\tname = Ana Example\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "DO_NOT_TRACK"}
    return {
        **env,
        "DEVTEL_HOME": str(tmp / "devtel-home"),
        "DEVTEL_CONFIG": str(tmp / "agent.toml"),
        "DEVTEL_POLICY": str(tmp / "policy.toml"),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "LOGNAME": login,
    }


def _sink(name: str, url: str, key: str = "") -> str:
    auth = f'[sinks.{name}.headers]\nAuthorization = "Bearer {key}"\n' if key else ""
    return f'[sinks.{name}]\ntype = "otlp"\nendpoint = "{url}"\nprotocol = "http/protobuf"\n{auth}'


@contextmanager
def running_relay(tmp: Path, receiver_url: str, api_key: str, login: str = LOGIN) -> Iterator[RunningRelay]:
    """``login`` is the developer the agent names (its named identity is the login)."""
    env = _agent_env(tmp, login)
    tap = Receiver().start()
    http_port, grpc_port = free_port(), free_port()
    Path(env["DEVTEL_CONFIG"]).write_text(
        _sink("main", receiver_url, api_key)
        + _sink("tap", tap.url)
        + "[agent]\ninterval_seconds = 3600\npoll_seconds = 0.2\n[collectors]\nenabled = false\n"
        + f"[relay]\nhttp_port = {http_port}\ngrpc_port = {grpc_port}\n"
    )
    subprocess.run(
        [sys.executable, "-m", "agent", "consent", "detailed"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "agent", "run"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        for port in (http_port, grpc_port):
            _wait_for_port(port)
        yield RunningRelay(http_port, grpc_port, tap, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        tap.stop()


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"the relay does not listen on {port}")


def _relayed(resources: Any) -> list[Any]:
    """The tools' resources; the agent's own exports (its base telemetry) go to the same sinks."""
    return [
        r
        for r in resources
        if not any(
            kv.key == c.RES_SERVICE_NAME and kv.value.string_value == c.SERVICE_NAME
            for kv in r.resource.attributes
        )
    ]


def keys_off_the_allowlist(tap: Receiver) -> list[str]:
    """Every attribute key the agent sent on for a relayed tool that is not allowlisted for its name."""
    off: list[str] = []
    for request in tap.ok():
        message: Any = request.message
        for rm in _relayed(getattr(message, "resource_metrics", [])):
            off += [
                kv.key
                for kv in rm.resource.attributes
                if kv.key not in ai.RESOURCE_KEYS | RELAY_RESOURCE_KEYS
            ]
            for sm in rm.scope_metrics:
                off += [f"scope:{kv.key}" for kv in sm.scope.attributes]
                for metric in sm.metrics:
                    allowed = ai.allowed_point_keys(metric.name) or frozenset()
                    kind = metric.WhichOneof("data")
                    for point in getattr(metric, kind).data_points if kind else ():
                        off += [f"{metric.name}:{kv.key}" for kv in point.attributes if kv.key not in allowed]
        for rl in _relayed(getattr(message, "resource_logs", [])):
            off += [
                kv.key
                for kv in rl.resource.attributes
                if kv.key not in ai.RESOURCE_KEYS | RELAY_RESOURCE_KEYS
            ]
            for sl in rl.scope_logs:
                for record in sl.log_records:
                    allowed = ai.allowed_event_keys(record.event_name) or frozenset()
                    off += [
                        f"{record.event_name}:{kv.key}" for kv in record.attributes if kv.key not in allowed
                    ]
                    off += [f"{record.event_name}:body"] if record.HasField("body") else []
    return off
