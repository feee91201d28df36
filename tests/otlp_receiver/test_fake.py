"""`devtel-receiver fake`: the team's AI use too, every table the four dashboards read with --db, and
no silent default target."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.db import fetch
from tests.support.processes import ROOT

DASHBOARD_TABLES = (
    "_tool_developer_metrics",  # Developer Telemetry, Inner Loop
    "_tool_developer_command_stats",  # Inner Loop
    "_devtel_installs",  # Fleet
    "_tool_developer_ai_metrics",  # AI Assistant
)


def fake(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DEVTEL_DB_URL"}
    env["XDG_DATA_HOME"] = str(home)  # where the default database would be
    return subprocess.run(
        [sys.executable, "-m", "otlp_receiver", "fake", "--quiet", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_with_db_every_dashboard_table_is_filled_and_ai_use_has_tools_languages_and_rejects(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'team.db'}"
    done = fake("--developers", "4", "--weeks", "1", "--connection", "3", "--db", db_url, home=tmp_path)
    assert done.returncode == 0, done.stderr
    for table in DASHBOARD_TABLES:
        assert fetch(db_url, f"SELECT COUNT(*) FROM {table}")[0][0] > 0, table
    ai = fetch(
        db_url,
        "SELECT COUNT(DISTINCT tool), COUNT(DISTINCT language), SUM(suggestions_shown),"
        " SUM(suggestions_accepted), MIN(connection_id), MAX(connection_id) FROM _tool_developer_ai_metrics",
    )[0]
    tools, languages, shown, accepted, low, high = ai
    assert tools >= 3 and languages >= 3 and 0 < accepted < shown and low == high == 3
    # Codex's own turn and model-request counters, on Codex's rows only; a turn calls the model at least once.
    turns, requests, elsewhere = fetch(
        db_url,
        "SELECT SUM(CASE WHEN tool = 'codex' THEN turns END),"
        " SUM(CASE WHEN tool = 'codex' THEN api_requests END),"
        " SUM(CASE WHEN tool <> 'codex' THEN turns + api_requests ELSE 0 END)"
        " FROM _tool_developer_ai_metrics",
    )[0]
    assert 0 < turns <= requests and elsewhere == 0
    # The AI rows belong to the team's developers: the dashboards join them.
    orphans = fetch(
        db_url,
        "SELECT COUNT(*) FROM _tool_developer_ai_metrics a WHERE NOT EXISTS"
        " (SELECT 1 FROM _tool_developer_metrics d WHERE d.developer_id = a.developer_id)",
    )[0][0]
    assert orphans == 0


def test_without_url_or_db_it_says_where_it_would_write_and_writes_nothing(tmp_path: Path) -> None:
    done = fake("--developers", "2", "--weeks", "1", home=tmp_path)
    assert done.returncode == 2
    default = tmp_path / "devtel" / "receiver.db"
    assert "--url" in done.stderr and str(default) in done.stderr
    assert not default.exists()


def test_connection_is_asked_for_only_where_it_is_used(tmp_path: Path) -> None:
    done = fake("--developers", "2", "--weeks", "1", "--db", f"sqlite:///{tmp_path / 'x.db'}", home=tmp_path)
    assert done.returncode == 2 and "--connection is required with --db" in done.stderr
