"""The report's edges: an empty period, what was sent per sink (§3, from a sent-log provider),
and bad arguments, which get a clear error and write nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.cli import main
from agent.report import cli as report_cli
from tests.agent.conftest import otlp_sink
from tests.support import chromium

TODAY = dt.date.today()


@dataclass(frozen=True)
class Sent:
    """An entry shaped as the sent log's SentEntry (agent.sent_log, [N]'s issue)."""

    sent_at: dt.datetime
    sink: str
    day: dt.date | None
    what: str
    answer: str
    summary: dict[str, object] = field(default_factory=dict)


def test_an_empty_period_gives_a_clear_page_not_an_error(env, write_config, tmp_path, capsys):
    write_config()
    page = tmp_path / "empty.html"
    assert main(["report", "--week", "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "No data for this period" in out and "none: no test or build runs" in out
    dom = chromium.dump_dom(page)
    assert '<svg id="chart-hours"' in dom and dom.count("no data") == 7
    text = page.read_text()
    for external in ("<script", " src=", "href=", "url(", "@import"):  # nothing to fetch, nothing to run
        assert external not in text, external
    for text in (
        "No data for this period",
        "No commits in this period.",
        "No test or build runs in this period.",
    ):
        assert text in dom, text
    assert not (Path(env["DEVTEL_HOME"]) / "days.db").exists()  # reading made no store


def test_what_was_sent_is_listed_per_sink(env, write_config, tmp_path, capsys, monkeypatch):
    write_config()
    yesterday = TODAY - dt.timedelta(days=1)
    at = dt.datetime.now(dt.UTC)
    entries = [
        Sent(at, "grafana", yesterday, "day-metrics", "HTTP 200", {"bytes": 1200, "signal": "metrics"}),
        Sent(at, "grafana", TODAY, "day-metrics", "HTTP 200", {"bytes": 1300, "signal": "metrics"}),
        Sent(at, "grafana", None, "heartbeat", "HTTP 200", {"bytes": 300, "signal": "logs"}),
        Sent(at, "devlake", TODAY, "day-report", "HTTP 200", {"bytes": 900, "signal": "json"}),
    ]
    asked: list[tuple[Path, dt.date, dt.date]] = []

    def read_sent(home: Path, start: dt.date, end: dt.date) -> list[Sent]:
        asked.append((home, start, end))
        return [e for e in entries if e.day is None or start <= e.day <= end]

    monkeypatch.setattr(report_cli, "SENT_LOG", read_sent)
    page = tmp_path / "sent.html"
    assert main(["report", "--days", "2", "--json", "--html", str(page)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert asked == [(Path(env["DEVTEL_HOME"]), yesterday, TODAY)]
    sends = Counter(e.sink for e in entries)
    assert {s["sink"]: s["sends"] for s in data["sent"]["sinks"]} == dict(sends)
    grafana = next(s for s in data["sent"]["sinks"] if s["sink"] == "grafana")
    assert grafana["days"] == [yesterday.isoformat(), TODAY.isoformat()]  # a heartbeat describes no day
    assert grafana["bytes"] == 1200 + 1300 + 300
    assert grafana["what"] == ["day-metrics", "heartbeat"] and grafana["answers"] == ["HTTP 200"]
    assert len(data["sent"]["entries"]) == len(entries)
    dom = chromium.dump_dom(page)
    assert "What was sent in this period, per sink" in dom and "<td>devlake</td><td>1</td><td>900</td>" in dom
    assert dom.count("bytes 1300, signal metrics") == 1 and dom.count("<td>heartbeat</td>") == 1

    assert main(["report", "--date", TODAY.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "grafana" in out and "devlake" in out and yesterday.isoformat() not in out.split("per sink")[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days: '0' is not a whole number from 1 to 366"),
        (["--days", "400"], "--days: '400' is not a whole number from 1 to 366"),
        (["--date", "2026-13-01"], "--date: '2026-13-01' is not a date (YYYY-MM-DD)"),
        (["--week", "--days", "3"], "not allowed with argument"),
    ],
)
def test_bad_arguments_are_named(env, write_config, capsys, args, message):
    write_config()
    with pytest.raises(SystemExit) as exit_info:
        main(["report", *args])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_an_html_file_that_cannot_be_written_is_an_error_naming_it(env, write_config, tmp_path, capsys):
    write_config()
    target = tmp_path / "no-such-dir" / "r.html"
    assert main(["report", "--html", str(target)]) == 1
    err = capsys.readouterr().err
    assert f"--html: cannot write {target}" in err and not target.parent.exists()


@pytest.mark.parametrize(
    ("level", "says"),
    [
        ("off", "Consent is off: nothing leaves this machine."),
        ("base", "Consent is base. Sent to main (otlp): only the base record (install_id, app_version,"),
        ("detailed", "Consent is detailed. Sent to main (otlp): each day's totals (active hours;"),
    ],
)
def test_the_report_says_what_leaves_at_the_current_level_and_to_which_sink(
    env, write_config, capsys, level, says
):
    write_config(otlp_sink("http://127.0.0.1:9/v1"))  # never contacted: report sends nothing
    assert main(["consent", level]) == 0
    capsys.readouterr()
    assert main(["report", "--date", TODAY.isoformat(), "--json"]) == 0
    leaves = json.loads(capsys.readouterr().out)["leaves_the_machine"]
    assert leaves["leaves"].startswith(says) and leaves["sinks"] == ["main (otlp)"]
    assert ("None of the figures in this report leave" in leaves["leaves"]) == (level == "base")
    assert ("Never sent: command lines and arguments" in leaves["leaves"]) == (level == "detailed")


def test_on_a_terminal_the_tables_are_styled(env, write_config):
    write_config()
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "agent", "report", "--date", TODAY.isoformat()],
            stdout=follower,
            stderr=subprocess.PIPE,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "140"},
            timeout=60,
            check=True,
        )
        os.close(follower)
        follower = -1
        out = b""
        while chunk := _read(leader):
            out += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert done.returncode == 0 and b"\x1b[1m" in out and b"Active hours per day" in out


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the pty is closed once everything was read
        return b""


@pytest.mark.parametrize("store", ["shell.db", "ai.db"])  # the day store moves a damaged file aside
def test_a_damaged_store_is_an_error_naming_its_file(env, write_config, capsys, store):
    write_config()
    damaged = Path(env["DEVTEL_HOME"]) / store
    damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_bytes(b"this is not a database\n" * 100)
    assert main(["report", "--week"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("devtel-agent: error: cannot ") and f"{damaged}: file is not a database" in err
    assert damaged.read_bytes() == b"this is not a database\n" * 100


def test_a_day_the_store_cannot_decode_is_an_error_naming_the_store(env, write_config, capsys):
    write_config()
    home = Path(env["DEVTEL_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(home / "days.db") as db:
        db.execute("CREATE TABLE days (date TEXT PRIMARY KEY, report TEXT NOT NULL)")
        db.execute("INSERT INTO days VALUES (?, ?)", (TODAY.isoformat(), "{not json"))
    assert main(["report", "--week"]) == 3
    assert f"devtel-agent: error: cannot read {home / 'days.db'}: " in capsys.readouterr().err
