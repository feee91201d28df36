"""`devtel-agent install`: the unit and plist checked by the platform's own tools, the shell's
opt-out and OTLP settings carried into the service, `--dry-run`, and the service manager's
steps (reinstall boots the old agent out; a changed unit restarts it)."""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agent import service
from agent.cli import main
from tests.support.ci import unavailable
from tests.support.processes import ROOT

HEADERS = 'Authorization=Bearer 50%off "quoted",X-Team=a b'


def _cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "OTEL_EXPORTER_OTLP_HEADERS")}
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        cwd=ROOT,
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_unit_passes_systemd_analyze_verify_and_carries_the_shells_settings(env, tmp_path) -> None:
    if shutil.which("systemd-analyze") is None:
        unavailable("systemd-analyze is not installed: scripts/bootstrap.sh system installs systemd")
    done = _cli(
        "install",
        DO_NOT_TRACK="1",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318",
        OTEL_EXPORTER_OTLP_HEADERS=HEADERS,
    )
    assert done.returncode == 0, done.stderr
    unit = Path(env["DEVTEL_SERVICE_DIR"]) / service.UNIT_NAME
    assert stat.S_IMODE(unit.stat().st_mode) == 0o600  # it may hold a key
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert verify.returncode == 0 and unit.name not in verify.stdout + verify.stderr, verify.stderr
    text = unit.read_text()
    assert 'Environment="DO_NOT_TRACK=1"' in text and "UMask=0077" in text
    quoted = 'Authorization=Bearer 50%%off \\"quoted\\",X-Team=a b'  # systemd's escaping, by hand
    assert f'Environment="OTEL_EXPORTER_OTLP_HEADERS={quoted}"' in text
    # The bug this fixes: the shell that runs `status` has no DO_NOT_TRACK, the service does.
    status = _cli("status", "--json")
    assert json.loads(status.stdout)["service_consent"] == {"level": "off", "source": "env:DO_NOT_TRACK"}
    assert "service: consent off (from env:DO_NOT_TRACK)" in _cli("status").stdout


def test_consent_off_at_install_is_what_the_service_applies(env, capsys) -> None:
    main(["consent", "off"])
    assert main(["install"]) == 0
    assert "the service applies consent off (from user)" in capsys.readouterr().out


def test_the_plist_is_read_by_libplist_and_has_log_paths(env, tmp_path) -> None:
    if shutil.which("plistutil") is None:
        unavailable("plistutil (libplist-utils) is not installed: scripts/bootstrap.sh system installs it")
    os.environ["DO_NOT_TRACK"] = "1"
    path, loaded = service.install(os.environ, system="darwin")
    binary = tmp_path / "converted.plist"
    done = subprocess.run(["plistutil", "-i", str(path), "-o", str(binary), "-f", "bin"], capture_output=True)
    assert done.returncode == 0 and binary.read_bytes().startswith(b"bplist00"), done.stderr
    plist = plistlib.loads(binary.read_bytes())  # what libplist understood, read back from its binary
    logs = str(Path(os.environ["HOME"]) / "Library" / "Logs" / "devtel-agent.log")
    assert plist["StandardOutPath"] == plist["StandardErrorPath"] == logs
    assert plist["EnvironmentVariables"]["DO_NOT_TRACK"] == "1" and plist["Umask"] == 0o077
    assert plist["ProgramArguments"][-1] == "run" and not loaded


@pytest.mark.skipif(sys.platform != "darwin", reason="plutil exists only on macOS")
def test_the_plist_passes_plutil_lint(env) -> None:
    path, _ = service.install(os.environ, system="darwin")
    assert subprocess.run(["plutil", "-lint", str(path)], capture_output=True).returncode == 0


def test_dry_run_prints_the_unit_and_commands_and_writes_nothing(env) -> None:
    done = _cli("install", "--dry-run", DO_NOT_TRACK="1")
    assert done.returncode == 0, done.stderr
    assert f"# would write {Path(env['DEVTEL_SERVICE_DIR']) / service.UNIT_NAME}:" in done.stdout
    assert 'Environment="DO_NOT_TRACK=1"' in done.stdout and "ExecStart=" in done.stdout
    assert "# would run nothing" in done.stdout  # DEVTEL_SERVICE_DIR: never loaded
    assert not Path(env["DEVTEL_SERVICE_DIR"]).exists() and not Path(env["DEVTEL_HOME"]).exists()


def test_a_value_a_unit_cannot_hold_is_refused_with_the_way_to_agent_toml(env) -> None:
    done = _cli("install", OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer x\nInjected=1")
    assert done.returncode == 5
    (line,) = done.stderr.strip().splitlines()
    assert "OTEL_EXPORTER_OTLP_HEADERS holds a control character" in line and env["DEVTEL_CONFIG"] in line
    assert not Path(env["DEVTEL_SERVICE_DIR"]).exists()


def _recording_manager(tmp_path: Path, name: str) -> Path:
    """systemctl/launchctl cannot run in this container (no user manager): a script on PATH records
    the steps install takes, in order."""
    bin_dir, log = tmp_path / "bin", tmp_path / f"{name}.log"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    answer = '[ "$2" = is-system-running ] && echo running'
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\n{answer}\nexit 0\n')
    script.chmod(0o755)
    return log


def test_systemd_steps_restart_the_agent_on_every_install(env, tmp_path, monkeypatch) -> None:
    """A changed unit must take effect; after an upgrade the unit is unchanged but the code is not."""
    log = _recording_manager(tmp_path, "systemctl")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DEVTEL_SERVICE_DIR")
    assert service.install(os.environ, system="linux")[1]
    monkeypatch.setenv("DO_NOT_TRACK", "1")  # the unit changes
    path, _ = service.install(os.environ, system="linux")
    assert 'Environment="DO_NOT_TRACK=1"' in path.read_text()
    steps = [line for line in log.read_text().splitlines() if "is-system-running" not in line]
    unit = service.UNIT_NAME
    assert steps == ["--user daemon-reload", f"--user enable {unit}", f"--user restart {unit}"] * 2


def test_launchd_reinstall_boots_the_old_agent_out_first(env, tmp_path, monkeypatch) -> None:
    log = _recording_manager(tmp_path, "launchctl")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DEVTEL_SERVICE_DIR")
    path, loaded = service.install(os.environ, system="darwin")
    domain = f"gui/{os.getuid()}"
    assert loaded and log.read_text().splitlines() == [
        f"bootout {domain}/{service.LAUNCHD_LABEL}",
        f"bootstrap {domain} {path}",
    ]
    assert (tmp_path / "home" / "Library" / "Logs").is_dir()


def test_a_config_the_service_could_not_start_with_stops_install(env, capsys) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text("[agent]\ninterval_seconds = 0\n")
    assert main(["install"]) == 2
    assert "agent.interval_seconds" in capsys.readouterr().err
    assert not Path(env["DEVTEL_SERVICE_DIR"]).exists()
