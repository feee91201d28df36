"""`devtel-agent ai record` through the consent gate and the durable outbox into the real receiver."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cli import main
from agent.outbox import DB_FILE
from tests.agent.conftest import LOGIN
from tests.support.ai_tools import ai_rows
from tests.support.processes import ROOT, RunningReceiver, create_connection, start_receiver

RECORD = ["ai", "record", "--tool", "copilot", "--language", "python", "--shown", "5", "--accepted", "3"]


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningReceiver, int, str]]:
    workdir = tmp_path_factory.mktemp("ai-receiver")
    db_url = f"sqlite:///{workdir / 'receiver.db'}"
    connection_id, api_key = create_connection(db_url, "ai-record")
    running = start_receiver(db_url, workdir)
    yield running, connection_id, api_key
    assert running.stop() == 0, running.log()


@pytest.fixture
def to_receiver(receiver, write_config) -> tuple[RunningReceiver, int]:
    running, connection_id, key = receiver
    write_config(
        f'[sinks.r]\ntype = "otlp"\nendpoint = "{running.url}"\n'
        f'[sinks.r.headers]\nAuthorization = "Bearer {key}"\n'
    )
    return running, connection_id


def queued_ai(home: str) -> list[tuple[str, str]]:
    path = Path(home) / DB_FILE
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return db.execute("SELECT key, status FROM items WHERE kind = 'ai' ORDER BY id").fetchall()


def test_records_add_up_and_reach_the_ai_table(to_receiver, env, capsys) -> None:
    running, connection_id = to_receiver
    date = "2026-02-10"
    assert main(["consent", "detailed"]) == 0
    assert main([*RECORD, "--lines", "42", "--feature", "chat", "--date", date]) == 0
    assert main([*RECORD, "--lines", "8", "--feature", "chat", "--date", date]) == 0
    assert main([*RECORD[:3], "Cursor", *RECORD[4:], "--date", date]) == 0  # default feature: completion
    assert "queued the day's AI totals" in capsys.readouterr().out
    assert queued_ai(env["DEVTEL_HOME"]) == [
        ("ai:2026-02-10", "pending")
    ]  # the newest total replaced the rest
    assert main(["flush"]) == 0
    rows = ai_rows(running.db_url, connection_id, LOGIN)
    assert rows[("copilot", "python", "chat")]["suggestions_shown"] == 10.0
    assert rows[("copilot", "python", "chat")]["suggestions_accepted"] == 6.0
    assert rows[("copilot", "python", "chat")]["lines_added"] == 50.0
    assert rows[("copilot", "python", "chat")]["time_saved_s"] == 600.0
    assert rows[("cursor", "python", "completion")]["suggestions_shown"] == 5.0
    assert main(["flush"]) == 0 and main(["flush"]) == 0  # nothing left to send, nothing doubled
    assert ai_rows(running.db_url, connection_id, LOGIN)[("copilot", "python", "chat")]["lines_added"] == 50.0


@pytest.mark.parametrize("level", ["off", "base"])
def test_below_detailed_nothing_is_recorded_or_queued(to_receiver, env, capsys, level) -> None:
    assert main(["consent", level]) == 0
    assert main([*RECORD, "--lines", "42"]) == 0
    assert "nothing recorded: AI use is detailed data" in capsys.readouterr().out
    assert queued_ai(env["DEVTEL_HOME"]) == []
    assert not (Path(env["DEVTEL_HOME"]) / "ai.db").exists()


def test_an_opt_out_variable_stops_recording(to_receiver, env, capsys, monkeypatch) -> None:
    assert main(["consent", "detailed"]) == 0
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert main(RECORD) == 0
    assert "nothing recorded" in capsys.readouterr().out and queued_ai(env["DEVTEL_HOME"]) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--accepted": "9"}, "--accepted (9) cannot exceed --shown (5)"),
        ({"--tool": "co pilot; rm -rf /"}, "--tool: 'co pilot; rm -rf /' is not a name"),
        ({"--language": ""}, "--language: '' is not a name"),
        ({"--shown": "-1"}, "'-1' is not a whole number"),
        ({"--shown": "2000000", "--accepted": "0"}, "--shown: 2000000 must be from 0 to 1000000"),
        ({"--feature": "telepathy"}, "invalid choice: 'telepathy'"),
        ({"--date": "2026-02-30"}, "'2026-02-30' is not a date"),
    ],
)
def test_bad_records_get_a_clear_error_and_change_nothing(to_receiver, env, capsys, change, message) -> None:
    assert main(["consent", "detailed"]) == 0
    args = list(RECORD)
    for option, value in change.items():
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2 and message in capsys.readouterr().err
    assert queued_ai(env["DEVTEL_HOME"]) == []
    assert os.path.exists(env["DEVTEL_HOME"])


def test_help_names_the_options(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["ai", "record", "--help"])
    out = capsys.readouterr().out
    for option in ("--tool", "--language", "--shown", "--accepted", "--lines", "--feature"):
        assert option in out


def test_dates_are_local_calendar_dates(to_receiver, env) -> None:
    main(["consent", "detailed"])
    main(RECORD)
    assert queued_ai(env["DEVTEL_HOME"]) == [(f"ai:{dt.date.today().isoformat()}", "pending")]


def test_records_made_at_the_same_moment_all_count(to_receiver, env) -> None:
    running, connection_id = to_receiver
    main(["consent", "detailed"])
    date = "2026-02-11"
    args = [
        "ai",
        "record",
        "--tool",
        "zed",
        "--language",
        "rust",
        "--shown",
        "2",
        "--accepted",
        "1",
        "--date",
        date,
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "agent", *args], cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL
        )
        for _ in range(8)
    ]
    assert [p.wait(60) for p in procs] == [0] * 8
    assert main(["flush"]) == 0
    row = ai_rows(running.db_url, connection_id, LOGIN)[("zed", "rust", "completion")]
    assert (row["suggestions_shown"], row["suggestions_accepted"]) == (16.0, 8.0)
