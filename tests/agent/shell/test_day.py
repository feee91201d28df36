"""The day's shell commands as they leave the agent: counts, statistics, the duration histogram,
one event per failed or long command, and, end to end, rows in the real receiver's tables with
no command line, secret or directory anywhere on the way."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from agent import contract as C
from agent import emit
from agent.cli import main
from agent.config import load_settings
from agent.day import CommandRun, DayReport
from agent.identity import Identity, resolve
from agent.resource import base_resource
from agent.shell import spool as spool_module
from agent.shell import summary
from agent.shell.spool import SPOOL_FILE, ensure_spool
from agent.source import build_day
from agent.store import DayStore
from tests.agent.conftest import LOGIN
from tests.agent.receiver import Receiver, events
from tests.agent.shell.ptyshell import PtyShell, shell_env, write_rc
from tests.agent.test_source import make_repository
from tests.support.processes import create_connection, start_receiver

TODAY = dt.date.today()
NOON = dt.datetime.combine(TODAY, dt.time(12)).timestamp()


def run(
    duration: float, category: str = "test", tool: str = "pytest", code: int = 0, repo: str = "api"
) -> CommandRun:
    outcome = "success" if code == 0 else "interrupted" if code == 130 else "failure"
    return CommandRun(NOON, duration, code, outcome, category, tool, repo)


def test_statistics_group_by_repository_category_tool_and_outcome():
    runs = [run(d) for d in (1.0, 2.0, 3.0, 4.0, 100.0)] + [run(5.0, code=1), run(0.1, "vcs", "git", repo="")]
    stats = summary.stats(runs)
    assert [tuple(s[k] for k in C.COMMAND_STAT_KEYS) for s in stats] == [
        ("", "vcs", "git", "success"),
        ("api", "test", "pytest", "failure"),
        ("api", "test", "pytest", "success"),
    ]
    passed = stats[2]
    assert (passed["count"], passed["total_duration_s"]) == (5, 110.0)
    assert (passed["p50_duration_s"], passed["p95_duration_s"]) == (3.0, 100.0)
    assert set(passed) == {*C.COMMAND_STAT_KEYS, *C.COMMAND_STAT_FIGURES}
    assert summary.counts(runs) == {"test": 6, "vcs": 1}


def test_an_event_for_each_failed_or_long_command_only():
    runs = [run(1.0), run(10.0), run(10.5), run(0.2, code=2), run(3.0, code=130)]
    found = summary.events(TODAY, runs)
    assert [(e[C.ATTR_COMMAND_DURATION], e[C.ATTR_EXIT_CODE], e[C.ATTR_COMMAND_OUTCOME]) for e in found] == [
        (10.5, 0, "success"),
        (0.2, 2, "failure"),
        (3.0, 130, "interrupted"),
    ]
    assert all(e[C.ATTR_REPOSITORY] == "api" and e[C.ATTR_TOOL] == "pytest" for e in found)


def _identity() -> Identity:
    return Identity(mode="named", developer_id=LOGIN, hostname="h")


def test_the_day_export_carries_the_histogram_the_events_and_the_stats(env):
    day = DayReport(date=TODAY, commands=[run(0.3), run(42.0, "build", "make", code=2)])
    export = emit.day_export(day, _identity(), base_resource("install"))
    [histogram] = [
        m
        for rm in export.metrics.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == C.M_COMMAND_DURATION
    ]
    assert histogram.unit == "s"
    points = {
        (a[C.ATTR_COMMAND_CATEGORY], a[C.ATTR_COMMAND_OUTCOME]): p
        for p in histogram.histogram.data_points
        for a in [{kv.key: kv.value.string_value for kv in p.attributes}]
    }
    assert set(points) == {("test", "success"), ("build", "failure")}
    assert points[("build", "failure")].sum == 42.0 and points[("build", "failure")].count == 1
    names = [r.event_name for rl in export.logs.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    assert names == [C.E_DAY_SUMMARY, C.E_COMMAND]
    assert (
        export.report["metrics"]["development_activity"]["build_commands_detected"] == 0
    )  # counts are source's


def test_a_day_without_commands_has_no_histogram_and_no_stats(env):
    export = emit.day_export(DayReport(date=TODAY), _identity(), base_resource("install"))
    names = {m.name for rm in export.metrics.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert C.M_COMMAND_DURATION not in names
    assert C.BODY_COMMAND_STATS not in emit.day_summary(DayReport(date=TODAY))


def test_commands_make_their_repository_a_project_and_their_hour_active(env, write_config, tmp_path):
    repo = tmp_path / "elsewhere" / "beta"  # outside the roots, and no commit of ours today
    make_repository(repo, commits=1, email="someone.else@example.com")
    write_config(f'[collectors]\nroots = ["{tmp_path / "roots"}"]\n')
    (tmp_path / "roots").mkdir()
    home = Path(env["DEVTEL_HOME"])
    ensure_spool(home)
    end = time.time() - 1
    (home / SPOOL_FILE).write_text(f"1\tzsh\t4242\t{end - 2}\t{end}\t0\t{repo}\tcargo test\n")
    settings = load_settings(os.environ)
    day = build_day(TODAY, settings, DayStore(home), resolve(settings))
    assert [p.name for p in day.projects] == ["beta"]
    assert day.active_hours == 1 and day.command_counts == {"test": 1}
    assert [(c.repository, c.category, c.tool) for c in day.commands] == [("beta", "test", "cargo")]
    assert DayStore(home).load(TODAY) == day


SECRETS = ("hunter2-s3cret", "t0ken-s3cret", "pa55w0rd-s3cret")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_shell_session_arrives_in_the_receivers_command_stats_without_secrets(
    shell, env, write_config, tmp_path, monkeypatch
):
    repo = tmp_path / "src" / "alpha"
    make_repository(repo, commits=1)
    workdir = repo / "pkg"  # commands run inside the repository, not at its root
    workdir.mkdir()
    (workdir / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    (workdir / "test_bad.py").write_text("def test_bad():\n    assert False\n")
    devtel_home = Path(env["DEVTEL_HOME"])
    assert main(["hook", shell]) == 0  # makes the spool, as at a shell's start
    home = tmp_path / "home"
    home.mkdir()
    session = PtyShell(write_rc(shell, home), shell_env(home, devtel_home), workdir)
    pytest_cmd = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    for line in (
        f"{pytest_cmd} test_ok.py",
        f"{pytest_cmd} test_bad.py",
        "git status --short",
        f"export TOKEN={SECRETS[1]}",
        f"true --password {SECRETS[0]}",
        f"true https://user:{SECRETS[2]}@example.invalid/x",
        "cd /",
        "false",
        "true",
    ):
        session.run(line, timeout=60)
    session.close()
    # The session has exited, so no shell holds the spool open: a rotated spool may be finished
    # at the next pass instead of after the grace period.
    monkeypatch.setattr(spool_module, "GRACE_S", 0.0)

    db_path = tmp_path / "receiver.db"
    connection_id, key = create_connection(f"sqlite:///{db_path}", "shell")
    receiver = start_receiver(f"sqlite:///{db_path}", tmp_path)
    wire = Receiver().start()
    try:
        write_config(
            f'[collectors]\nroots = ["{tmp_path / "src"}"]\n'
            f'[sinks.r]\ntype = "otlp"\nendpoint = "{receiver.url}"\n'
            f'[sinks.r.headers]\nAuthorization = "Bearer {key}"\n'
            f'[sinks.wire]\ntype = "otlp"\nendpoint = "{wire.url}"\n'
        )
        main(["consent", "detailed"])
        assert main(["collect"]) == 0
        assert main(["collect"]) == 0  # a second pass finishes the rotated spool; nothing doubles
    finally:
        receiver.stop()
        wire.stop()

    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT repository, category, tool, outcome, count, total_duration_s"
            " FROM _tool_developer_command_stats WHERE connection_id = ? AND developer_id = ? AND date = ?"
            " ORDER BY 1, 2, 3, 4",
            (connection_id, LOGIN, TODAY.isoformat()),
        ).fetchall()
        development = db.execute(
            "SELECT development_activity FROM _tool_developer_metrics WHERE developer_id = ? AND date = ?",
            (LOGIN, TODAY.isoformat()),
        ).fetchone()[0]
    assert [r[:5] for r in rows] == [
        ("", "other", "", "failure", 1),  # `false` ran outside any repository
        ("", "other", "", "success", 1),  # `true`; the closing `exit` is no command
        ("alpha", "other", "", "success", 4),
        ("alpha", "test", "pytest", "failure", 1),
        ("alpha", "test", "pytest", "success", 1),
        ("alpha", "vcs", "git", "success", 1),
    ], receiver.log()[-2000:]
    assert all(r[5] > 0.05 for r in rows if r[2] == "pytest")  # a Python start-up at least
    assert json.loads(development)["test_runs_detected"] == 2

    sent = [(name, attrs) for name, _, attrs in events(wire.ok(), C.E_COMMAND)]
    assert {(a[C.ATTR_TOOL], a[C.ATTR_EXIT_CODE]) for _, a in sent} == {("pytest", 1), ("", 1)}

    sent = {"the bytes sent": wire.raw_bytes(), "the receiver's database": db_path.read_bytes()}
    kept = {str(p): p.read_bytes() for p in devtel_home.rglob("*") if p.is_file()}
    assert (devtel_home / "shell.spool").read_bytes() == b"" and not (devtel_home / "shell.spool.1").exists()
    for secret in (*SECRETS, "test_ok.py", "--short", str(workdir)):
        for place, content in (sent | kept).items():
            assert secret.encode() not in content, f"{secret!r} found in {place}"
    for place, content in sent.items():  # paths never leave (repository paths only by policy)
        assert str(tmp_path).encode() not in content, f"a path found in {place}"


def test_a_spool_that_cannot_be_read_costs_its_commands_not_the_day(env, write_config, tmp_path, caplog):
    write_config(f'[collectors]\nroots = ["{tmp_path}"]\ndepth = 1\n')
    home = Path(env["DEVTEL_HOME"])
    (home / SPOOL_FILE).mkdir(parents=True)  # not a file at all
    settings = load_settings(os.environ)
    day = build_day(TODAY, settings, DayStore(home), resolve(settings))
    assert day.commands == [] and "shell spool: cannot read it" in caplog.text
