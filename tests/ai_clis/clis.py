"""Running the real AI CLIs (pinned in tests/ai_clis/package.json) once each, non-interactively,
against a model mock, with their OTLP export pointed where a test says.

Each ``run_*`` returns the CLI's own JSON totals (the independent truth a test compares the
receiver's rows with) and leaves the files it edited in the workspace.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.ai_clis import model_mocks as mocks

BIN = Path(__file__).resolve().parent / "node_modules" / ".bin"
PROMPT = "Write the greeting module, bump x, read the notes and run the marker command."
# Keep the vendors' own telemetry, update checks and error reports off the network.
QUIET = {"DISABLE_TELEMETRY": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DO_NOT_TRACK": "1"}


@dataclass(frozen=True)
class Export:
    """Where and how a CLI sends OTLP: ``protocol`` is http/protobuf, http/json or grpc."""

    endpoint: str  # base URL, e.g. http://127.0.0.1:PORT
    protocol: str
    headers: dict[str, str]
    cumulative: bool = False
    resource: str = ""  # OTEL_RESOURCE_ATTRIBUTES, the operator's identity


@dataclass(frozen=True)
class Totals:
    """What the CLI itself reported at the end of its run."""

    tokens: float
    cost_usd: float | None
    raw: dict[str, Any]
    turns: int | None = None  # turns the CLI said it completed, where its output says (Codex)
    api_requests: int | None = None  # model API requests its output counts (Gemini CLI)


def installed() -> bool:
    return all((BIN / name).exists() for name in ("claude", "gemini", "codex"))


def _env(home: Path, export: Export, extra: dict[str, str]) -> dict[str, str]:
    """A clean environment: the home, the vendors' own traffic off, the operator's identity and the
    temporality (all three CLIs honour the standard variable), and what the CLI needs."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", **QUIET, **extra}
    env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] = "cumulative" if export.cumulative else "delta"
    if export.resource:
        env["OTEL_RESOURCE_ATTRIBUTES"] = export.resource
    return env


def _headers(headers: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in headers.items())


def _deny_hook(home: Path, answer: dict[str, Any]) -> Path:
    """A hook script that answers every tool call it is asked about with ``answer``: a real reject."""
    hook = home / "deny-edit.sh"
    hook.write_text(f"#!/bin/sh\ncat >/dev/null\necho '{json.dumps(answer)}'\n")
    hook.chmod(0o755)
    return hook


def run_claude(root: Path, home: Path, model_url: str, export: Export) -> Totals:
    """One ``claude -p`` run; a PreToolUse hook denies every Edit, the developer's real reject."""
    hook = _deny_hook(
        home,
        {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": "rejected by the test developer",
            }
        },
    )
    (root / ".claude").mkdir(exist_ok=True)
    hooks = {"PreToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": str(hook)}]}]}
    (root / ".claude" / "settings.json").write_text(json.dumps({"hooks": hooks}))
    env = {
        "ANTHROPIC_BASE_URL": model_url,
        "ANTHROPIC_API_KEY": "dummy",
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": export.protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": export.endpoint,
        "OTEL_EXPORTER_OTLP_HEADERS": _headers(export.headers),
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_LOGS_EXPORT_INTERVAL": "1000",
    }
    out = _run(
        [
            str(BIN / "claude"),
            "-p",
            PROMPT,
            "--permission-mode",
            "acceptEdits",
            "--output-format",
            "json",
            "--allowedTools",
            f"Bash({mocks.SHELL_COMMAND.split()[0]}:*)",
        ],
        root,
        _env(home, export, env),
    )
    usage = out["usage"]
    tokens = sum(
        usage[k]
        for k in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    return Totals(float(tokens), float(out["total_cost_usd"]), out)


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{argv[0]} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    # The JSON result, and whatever an exporter prints after it (Gemini CLI reports the relay's
    # refusal of its traces on stdout).
    start = done.stdout.find("{")
    return json.JSONDecoder().raw_decode(done.stdout[start:])[0]


def run_gemini(root: Path, home: Path, model_url: str, export: Export) -> Totals:
    """One ``gemini -p`` run in yolo mode; a BeforeTool hook denies every ``replace``."""
    if export.protocol not in ("grpc", "http/json"):
        raise ValueError(f"Gemini CLI sends OTLP over grpc or http (JSON), not {export.protocol}")
    hook = _deny_hook(home, {"decision": "deny", "reason": "rejected by the test developer"})
    settings = {
        "hooks": {
            "BeforeTool": [{"matcher": "replace", "hooks": [{"type": "command", "command": str(hook)}]}]
        },
        "telemetry": {
            "enabled": True,
            "target": "local",
            "otlpEndpoint": export.endpoint,
            "otlpProtocol": "grpc" if export.protocol == "grpc" else "http",
            "logPrompts": False,
        },
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "privacy": {"usageStatisticsEnabled": False},
        "security": {"auth": {"selectedType": "gemini-api-key"}},
    }
    (home / ".gemini").mkdir(exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    env = {
        "GEMINI_API_KEY": "dummy",
        "GOOGLE_GEMINI_BASE_URL": model_url,
        "OTEL_EXPORTER_OTLP_HEADERS": _headers(export.headers),
    }
    out = _run(
        [str(BIN / "gemini"), "-p", PROMPT, "--approval-mode", "yolo", "--skip-trust", "-o", "json"],
        root,
        _env(home, export, env),
    )
    models = out["stats"]["models"]
    tokens = sum(m["tokens"]["total"] for m in models.values())
    requests = sum(m["api"]["totalRequests"] for m in models.values())
    return Totals(float(tokens), None, out, api_requests=requests)


def _codex_exporter(export: Export, signal: str) -> str:
    headers = "{ " + ", ".join(f'"{k}" = "{v}"' for k, v in export.headers.items()) + " }"
    if export.protocol == "grpc":
        return f'{{ otlp-grpc = {{ endpoint = "{export.endpoint}", headers = {headers} }} }}'
    protocol = "json" if export.protocol == "http/json" else "binary"
    return (
        f'{{ otlp-http = {{ endpoint = "{export.endpoint}/v1/{signal}", protocol = "{protocol}", '
        f"headers = {headers} }} }}"
    )


def run_codex(root: Path, home: Path, model_url: str, export: Export) -> Totals:
    """One ``codex exec --json`` run that never asks (approval_policy = never): every call is approved."""
    codex_home = home / ".codex"
    codex_home.mkdir(exist_ok=True)
    (codex_home / "config.toml").write_text(
        f"""model = "gpt-5.5"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[model_providers.mock]
name = "mock"
base_url = "{model_url}/v1"
env_key = "MOCK_API_KEY"
wire_api = "responses"


[analytics]
enabled = false

[otel]
log_user_prompt = false
exporter = {_codex_exporter(export, "logs")}
metrics_exporter = {_codex_exporter(export, "metrics")}
trace_exporter = "none"
"""
    )
    env = {"CODEX_HOME": str(codex_home), "MOCK_API_KEY": "dummy"}
    done = subprocess.run(
        [str(BIN / "codex"), "exec", "--skip-git-repo-check", "--json", PROMPT],
        cwd=root,
        env=_env(home, export, env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"codex exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    turns = [e["usage"] for e in events if e.get("type") == "turn.completed"]
    tokens = sum(u.get("input_tokens", 0) + u.get("output_tokens", 0) for u in turns)
    return Totals(float(tokens), None, {"events": events, "stderr": done.stderr}, turns=len(turns))
