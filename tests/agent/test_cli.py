"""The CLI as users and service managers run it, including real processes killed mid-send and
a disk that fills up."""

from __future__ import annotations

import datetime as dt
import json
import os
import plistlib
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent import contract as C
from agent import service
from agent.cli import main
from agent.store import DayStore
from tests.agent.conftest import otlp_sink, sample_day
from tests.agent.receiver import Receiver, gauge_points

TODAY = dt.date.today()
REPO = Path(__file__).resolve().parents[2]


def _agent_process(*args: str, limit_bytes: int | None = None) -> subprocess.Popen[str]:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.Popen(
        [sys.executable, "-m", "agent", *args],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
    )


def _days(env: dict[str, str], count: int) -> list[dt.date]:
    Path(env["DEVTEL_HOME"]).mkdir(parents=True, exist_ok=True)
    days = [TODAY - dt.timedelta(days=n) for n in range(count)]
    for day in days:
        DayStore(Path(env["DEVTEL_HOME"])).save(sample_day(day))
    return days


def test_preview_shows_per_sink_what_collect_then_sends_and_sends_nothing(
    env, receiver, write_config, capsys
):
    legacy = Receiver().start()
    try:
        write_config(otlp_sink(receiver.url))
        Path(env["DEVTEL_LEGACY_CONFIG"]).write_text(json.dumps({"webhook_url": f"{legacy.url}/report"}))
        _days(env, 1)
        main(["consent", "detailed"])
        capsys.readouterr()
        assert main(["preview"]) == 0
        preview = json.loads(capsys.readouterr().out)
        assert receiver.requests == [] and legacy.requests == []
        by_name = {s["name"]: s for s in preview["sinks"]}
        assert {(i["kind"], i["signal"]) for i in by_name["main"]["items"]} == {
            ("first_seen", "logs"),
            ("heartbeat", "logs"),
            ("day", "metrics"),
            ("day", "logs"),
            ("agent", "metrics"),
        }
        (legacy_item,) = by_name["devlake-legacy"]["items"]
        main(["collect"])
        assert legacy.ok()[0].message == legacy_item["body"]  # byte for byte the same report
        assert legacy_item["headers"] == {"Content-Type": "application/json"}
    finally:
        legacy.stop()


def test_preview_redacts_credentials(env, write_config, capsys) -> None:
    write_config(otlp_sink("http://127.0.0.1:9") + '[sinks.main.headers]\nAuthorization = "Bearer secret"\n')
    main(["preview"])
    out = capsys.readouterr().out
    assert "secret" not in out and "<redacted>" in out


def test_status_json_reports_sinks_outbox_and_today(env, write_config, capsys) -> None:
    write_config(otlp_sink("http://127.0.0.1:9"))
    _days(env, 1)
    main(["collect"])
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["consent"] == {"level": "base", "source": "default"}
    (sink,) = status["sinks"]
    assert (
        sink["pending"] == 2
        and sink["last_failure"].startswith("network:")
        and sink["last_success_at"] is None
    )
    assert status["today"]["active_hours"] == 2 and status["identity"]["mode"] == "named"


def test_collect_days_sends_each_day(env, receiver, write_config) -> None:
    write_config(otlp_sink(receiver.url))
    days = _days(env, 3)
    main(["consent", "detailed"])
    assert main(["collect", "--days", "3"]) == 0
    assert sorted(a[C.ATTR_DATE] for _, a in gauge_points(receiver.ok(), C.M_COMMITS)) == sorted(
        d.isoformat() for d in days
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["collect", "--date", "2026-13-01"],
        ["collect", "--days", "0"],
        ["consent", "maybe"],
        ["collect", "--date", "2026-01-01", "--days", "2"],
    ],
)
def test_bad_arguments_exit_2(env, argv) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert not Path(env["DEVTEL_HOME"]).exists()


def test_install_writes_a_systemd_user_unit_and_uninstall_removes_it(env, capsys) -> None:
    assert main(["install"]) == 0
    unit = Path(env["DEVTEL_SERVICE_DIR"]) / service.UNIT_NAME
    text = unit.read_text()
    assert "ExecStart=" in text and text.split("ExecStart=")[1].split("\n")[0].endswith(" run")
    assert f'Environment="DEVTEL_HOME={env["DEVTEL_HOME"]}"' in text and "WantedBy=default.target" in text
    assert "not loaded" in capsys.readouterr().out
    assert main(["uninstall"]) == 0 and not unit.exists()
    assert main(["uninstall"]) == 0 and "nothing installed" in capsys.readouterr().out


def test_install_writes_a_launchd_plist_on_macos(env) -> None:
    path, loaded = service.install(os.environ, system="darwin")
    plist = plistlib.loads(path.read_bytes())
    assert not loaded and path.name == "dev.devtel.agent.plist"
    assert plist["Label"] == "dev.devtel.agent" and plist["ProgramArguments"][-1] == "run"
    assert plist["EnvironmentVariables"]["DEVTEL_CONFIG"] == env["DEVTEL_CONFIG"]


def test_kill_9_mid_send_loses_nothing(env, write_config) -> None:
    receiver = Receiver(hold=threading.Event()).start()
    try:
        write_config(otlp_sink(receiver.url))
        days = _days(env, 3)
        main(["consent", "detailed"])
        proc = _agent_process("collect", "--days", "3")
        assert receiver.arrived.wait(20), proc.communicate()
        proc.send_signal(signal.SIGKILL)  # mid-send: the receiver holds the first request open
        proc.wait(10)
        receiver.hold.set()
        assert main(["flush"]) == 0
        arrived = {a[C.ATTR_DATE] for _, a in gauge_points(receiver.ok(), C.M_COMMITS)}
        assert arrived == {d.isoformat() for d in days}
    finally:
        receiver.hold.set()
        receiver.stop()


def test_run_sends_and_stops_cleanly_on_sigterm(env, receiver, write_config) -> None:
    write_config(otlp_sink(receiver.url) + "[agent]\ninterval_seconds = 0.2\npoll_seconds = 0.1\n")
    _days(env, 1)
    main(["consent", "detailed"])
    proc = _agent_process("run")
    deadline = time.time() + 20
    while time.time() < deadline and not gauge_points(receiver.ok(), C.M_COMMITS):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    assert gauge_points(receiver.ok(), C.M_COMMITS)


def test_full_disk_is_a_clear_error_and_no_crash_loop(env, write_config) -> None:
    write_config(otlp_sink("http://127.0.0.1:9") + "[agent]\ninterval_seconds = 0.1\n")
    _days(env, 1)
    main(["consent", "detailed"])
    main(["collect"])  # databases exist; the next exports no longer fit
    big = sample_day(TODAY)
    big.repositories = [type(big.repositories[0])(f"repo-{n:04d}-" + "x" * 60, commits=n) for n in range(600)]
    DayStore(Path(env["DEVTEL_HOME"])).save(big)
    state_before = (Path(env["DEVTEL_HOME"]) / "state.json").read_text()
    limit = max(p.stat().st_size for p in Path(env["DEVTEL_HOME"]).iterdir()) + 16 * 1024

    collect = _agent_process("collect", limit_bytes=limit)
    out, err = collect.communicate(timeout=60)
    assert collect.returncode == 3, (out, err)
    assert "cannot write the outbox" in err and "Traceback" not in err

    run = _agent_process("run", limit_bytes=limit)  # the service keeps going, reporting each round
    seen = []  # until two rounds have failed: then it is past start-up and its signal handlers
    while sum("retrying in" in line for line in seen) < 2:
        line = run.stderr.readline()
        assert line, f"`run` stopped: {''.join(seen)}"
        seen.append(line)
    assert run.poll() is None
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=10)
    err = "".join(seen) + err
    assert run.returncode == 0 and "Traceback" not in err
    assert (Path(env["DEVTEL_HOME"]) / "state.json").read_text() == state_before
