"""``devtel-agent install`` / ``uninstall``: a systemd user unit on Linux, a launchd
LaunchAgent on macOS. The file is always written; it is loaded only where that service
manager is actually usable (a container or CI box has the binary but no user manager)."""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from agent import env as E
from agent.errors import ServiceError

UNIT_NAME = "devtel-agent.service"
LAUNCHD_LABEL = "dev.devtel.agent"
_PASS_THROUGH = (E.DEVTEL_HOME, E.DEVTEL_CONFIG, E.DEVTEL_POLICY)


def agent_command() -> list[str]:
    """How the service starts the agent: the installed script, else this interpreter."""
    script = shutil.which("devtel-agent")
    return [script, "run"] if script else [sys.executable, "-m", "agent", "run"]


def service_path(env: Mapping[str, str], system: str) -> Path:
    default = "~/Library/LaunchAgents" if system == "darwin" else "~/.config/systemd/user"
    name = f"{LAUNCHD_LABEL}.plist" if system == "darwin" else UNIT_NAME
    return E.path_from(env, E.DEVTEL_SERVICE_DIR, default) / name


def systemd_unit(command: list[str], env: Mapping[str, str]) -> str:
    lines = [
        "[Unit]",
        "Description=devtel developer telemetry agent",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={shlex.join(command)}",
        "Restart=on-failure",
        "RestartSec=60",
        "Nice=10",
    ]
    lines += [f'Environment="{k}={env[k]}"' for k in _PASS_THROUGH if env.get(k)]
    lines += ["", "[Install]", "WantedBy=default.target", ""]
    return "\n".join(lines)


def launchd_plist(command: list[str], env: Mapping[str, str]) -> bytes:
    plist = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": command,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ProcessType": "Background",
        "ThrottleInterval": 60,
    }
    passed = {k: env[k] for k in _PASS_THROUGH if env.get(k)}
    if passed:
        plist["EnvironmentVariables"] = passed
    return plistlib.dumps(plist)


def _manager(system: str, env: Mapping[str, str]) -> list[str] | None:
    """The service manager's command prefix, if one is usable here (and the target is the default)."""
    if env.get(E.DEVTEL_SERVICE_DIR):
        return None  # a redirected install (tests, packaging) is never loaded
    if system == "darwin" and shutil.which("launchctl"):
        return ["launchctl"]
    if system == "linux" and shutil.which("systemctl"):
        probe = subprocess.run(["systemctl", "--user", "is-system-running"], capture_output=True, check=False)
        return ["systemctl", "--user"] if probe.returncode == 0 or probe.stdout.strip() else None
    return None


def install(env: Mapping[str, str], system: str = sys.platform) -> tuple[Path, bool]:
    """Write the unit/plist; load it when possible. Returns (path, loaded)."""
    path, command = service_path(env, system), agent_command()
    content = launchd_plist(command, env) if system == "darwin" else systemd_unit(command, env).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    except OSError as exc:
        raise ServiceError(f"cannot write {path}: {exc.strerror or exc}") from exc
    manager = _manager(system, env)
    if manager is None:
        return path, False
    steps = (
        [["bootstrap", f"gui/{os.getuid()}", str(path)]]
        if system == "darwin"
        else [["daemon-reload"], ["enable", "--now", UNIT_NAME]]
    )
    for step in steps:
        done = subprocess.run(manager + step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ServiceError(f"wrote {path} but `{' '.join(manager + step)}` failed: {done.stderr.strip()}")
    return path, True


def uninstall(env: Mapping[str, str], system: str = sys.platform) -> tuple[Path, bool]:
    """Unload (where possible) and remove the unit/plist. Returns (path, existed)."""
    path = service_path(env, system)
    manager = _manager(system, env)
    if manager is not None and path.exists():
        step = (
            ["bootout", f"gui/{os.getuid()}", str(path)]
            if system == "darwin"
            else ["disable", "--now", UNIT_NAME]
        )
        subprocess.run(manager + step, capture_output=True, check=False)  # already unloaded is fine
    existed = path.exists()
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise ServiceError(f"cannot remove {path}: {exc.strerror or exc}") from exc
    return path, existed
