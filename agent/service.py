"""``devtel-agent install`` / ``uninstall``: a systemd user unit on Linux, a launchd
LaunchAgent on macOS. The file is always written; it is loaded only where that service
manager is actually usable (a container or CI box has the binary but no user manager).

A service does not see the user's shell: whatever the shell says at install time that changes
what the agent does (an opt-out switch, the ``OTEL_EXPORTER_OTLP_*`` destination, the paths) is
written into the unit, or ``install`` refuses and says how to put it in agent.toml instead.
``status`` reads the installed file back to show the consent the service will apply.
"""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent import env as E
from agent.errors import ServiceError
from agent.files import private_dir

UNIT_NAME = "devtel-agent.service"
LAUNCHD_LABEL = "dev.devtel.agent"
LOG_NAME = "devtel-agent.log"
_PATHS = (E.DEVTEL_HOME, E.DEVTEL_CONFIG, E.DEVTEL_POLICY, E.DEVTEL_LEGACY_CONFIG)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNIT_ENV = re.compile(r'^Environment="((?:[^"\\]|\\.)*)"$')


@dataclass(frozen=True)
class Plan:
    """What ``install`` writes and runs; ``--dry-run`` prints it and does nothing else."""

    path: Path
    content: bytes
    environment: dict[str, str]
    commands: list[list[str]]  # empty when no usable service manager is here


def agent_command() -> list[str]:
    """How the service starts the agent: the script installed beside this interpreter (a pipx or
    virtualenv install need not be on the service's PATH), else the one on PATH, else ``-m``."""
    beside = Path(sys.executable).parent / "devtel-agent"
    script = str(beside) if beside.is_file() else shutil.which("devtel-agent")
    return [script, "run"] if script else [sys.executable, "-m", "agent", "run"]


def service_path(env: Mapping[str, str], system: str) -> Path:
    default = "~/Library/LaunchAgents" if system == "darwin" else "~/.config/systemd/user"
    name = f"{LAUNCHD_LABEL}.plist" if system == "darwin" else UNIT_NAME
    return E.path_from(env, E.DEVTEL_SERVICE_DIR, default) / name


def log_path(env: Mapping[str, str]) -> Path:
    """launchd writes the agent's stderr here (systemd has the journal)."""
    return Path(env.get("HOME") or "~").expanduser() / "Library" / "Logs" / LOG_NAME


def service_environment(env: Mapping[str, str], config_hint: Path) -> dict[str, str]:
    """The variables of this shell that the service must see: paths, opt-outs, OTLP settings.

    A value a unit file cannot hold (a newline or other control character) is refused with a
    pointer to agent.toml, which can hold any header or endpoint.
    """
    names = [*_PATHS, *E.KILL_SWITCHES, E.OTEL_RESOURCE_ATTRIBUTES]
    names += sorted(k for k in env if k.startswith(E.OTLP_PREFIX))
    chosen = {k: env[k] for k in names if env.get(k)}
    for switch in E.KILL_SWITCHES:  # "DO_NOT_TRACK=0" is no opt-out: not worth carrying along
        if switch in chosen and E.kill_switch({switch: chosen[switch]}) is None:
            del chosen[switch]
    for name, value in chosen.items():
        if _CONTROL.search(value):
            raise ServiceError(
                f"{name} holds a control character, which a service file cannot carry; unset it and "
                f"put the setting in {config_hint} instead (a [sinks.NAME] table: endpoint, "
                "protocol, compression, timeout_seconds, [sinks.NAME.headers]; see docs/configuration.md)"
            )
    return chosen


def _unit_quote(value: str) -> str:
    """systemd's quoting inside Environment="…": backslash and quote escaped, % doubled."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def systemd_unit(command: list[str], environment: Mapping[str, str]) -> str:
    lines = [
        "[Unit]",
        "Description=devtel developer telemetry agent",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={shlex.join(command).replace('%', '%%')}",
        "Restart=on-failure",
        "RestartSec=60",
        "Nice=10",
        "UMask=0077",
    ]
    lines += [f'Environment="{_unit_quote(f"{k}={v}")}"' for k, v in environment.items()]
    lines += ["", "[Install]", "WantedBy=default.target", ""]
    return "\n".join(lines)


def launchd_plist(command: list[str], environment: Mapping[str, str], logs: Path) -> bytes:
    plist = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": command,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ProcessType": "Background",
        "ThrottleInterval": 60,
        "Umask": 0o077,
        "StandardOutPath": str(logs),
        "StandardErrorPath": str(logs),
    }
    if environment:
        plist["EnvironmentVariables"] = dict(environment)
    return plistlib.dumps(plist)


def installed_environment(env: Mapping[str, str], system: str = sys.platform) -> dict[str, str] | None:
    """The environment the installed service will run with, read back from its file; None if
    nothing is installed (or the file is not one of ours)."""
    path = service_path(env, system)
    try:
        content = path.read_bytes()
    except OSError:
        return None
    if system == "darwin":
        try:
            return dict(plistlib.loads(content).get("EnvironmentVariables", {}))
        except (plistlib.InvalidFileException, ValueError, AttributeError):
            return None
    found: dict[str, str] = {}
    for line in content.decode("utf-8", "replace").splitlines():
        match = _UNIT_ENV.match(line)
        if match:
            text = re.sub(r"\\(.)", r"\1", match.group(1)).replace("%%", "%")
            name, _, value = text.partition("=")
            found[name] = value
    return found


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


def _load_steps(system: str, path: Path) -> list[list[str]]:
    """launchd: boot any old agent out first (a second bootstrap of a loaded label fails), then
    bootstrap. systemd: reload, enable, restart. Always a restart: a changed unit must take
    effect, and after an upgrade the unit is the same but the code under it is not."""
    if system == "darwin":
        domain = f"gui/{os.getuid()}"
        return [["bootout", f"{domain}/{LAUNCHD_LABEL}"], ["bootstrap", domain, str(path)]]
    return [["daemon-reload"], ["enable", UNIT_NAME], ["restart", UNIT_NAME]]


def plan_install(env: Mapping[str, str], system: str = sys.platform) -> Plan:
    """What install would write and run, without touching anything."""
    path, command = service_path(env, system), agent_command()
    environment = service_environment(env, E.path_from(env, E.DEVTEL_CONFIG, E.DEFAULT_CONFIG))
    content = (
        launchd_plist(command, environment, log_path(env))
        if system == "darwin"
        else systemd_unit(command, environment).encode()
    )
    manager = _manager(system, env)
    commands = [manager + step for step in _load_steps(system, path)] if manager else []
    return Plan(path, content, environment, commands)


def install(env: Mapping[str, str], system: str = sys.platform) -> tuple[Path, bool]:
    """Write the unit/plist (0600: it may hold a header with a key); load it when possible.
    Returns (path, loaded)."""
    plan = plan_install(env, system)
    path = plan.path
    try:
        private_dir(path.parent)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(plan.content)
        os.replace(tmp, path)
        if system == "darwin":
            private_dir(log_path(env).parent)
    except OSError as exc:
        raise ServiceError(f"cannot write {path}: {exc.strerror or exc}") from exc
    for step in plan.commands:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0 and step[1] != "bootout":  # nothing to boot out is fine
            raise ServiceError(f"wrote {path} but `{' '.join(step)}` failed: {done.stderr.strip()}")
    return path, bool(plan.commands)


def uninstall(env: Mapping[str, str], system: str = sys.platform) -> tuple[Path, bool]:
    """Unload (where possible) and remove the unit/plist. Returns (path, existed)."""
    path = service_path(env, system)
    manager = _manager(system, env)
    if manager is not None and path.exists():
        step = (
            ["bootout", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"]
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
