"""Fixtures for the dashboard proofs: the dashboards as JSON, and MariaDB filled through the real
receiver by the fake-team generator (`devtel-receiver fake`, over OTLP), on a devtel-created table
(JSON columns) and on a DevLake-created one (TEXT columns).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ROOT, create_connection, start_receiver

DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
PROVISIONING_DIR = ROOT / "grafana" / "provisioning"
TESTDATA = Path(__file__).resolve().parent / "testdata"
DEVLAKE_TABLE = Path(__file__).resolve().parents[1] / "testdata" / "devlake_metrics_table.sql"
MYSQL8_SQL_MODE = (
    "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)
TEAM = ("--developers", "15", "--weeks", "6", "--seed", "20260219")
OTHER_TEAM = ("--developers", "5", "--weeks", "6", "--seed", "7")


def load_dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def connect(url: str):
    import pymysql
    import sqlalchemy as sa

    u = sa.engine.make_url(url)
    # Grafana's MySQL datasource sets the session time zone to UTC; FROM_UNIXTIME depends on it.
    # MySQL 8's default sql_mode (DevLake runs on MySQL 8): ONLY_FULL_GROUP_BY catches sloppy GROUP BYs
    # that MariaDB's default would let through.
    return pymysql.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 3306,
        user=u.username or "root",
        password=u.password or "",
        database=u.database,
        charset="utf8mb4",
        init_command=f"SET time_zone = '+00:00', sql_mode = '{MYSQL8_SQL_MODE}'",
    )


def _post_ai(receiver_url: str, api_key: str, team: tuple[str, ...]) -> None:
    """The team's AI assistant use (tests/grafana/ai_team.py), over OTLP/HTTP like the senders."""
    import httpx

    from tests.grafana.ai_team import ai_requests

    args = dict(zip(team[::2], team[1::2], strict=True))
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=receiver_url, headers=headers, timeout=30) as client:
        for body in ai_requests(int(args["--developers"]), int(args["--weeks"]), int(args["--seed"])):
            client.post("/v1/metrics", content=body).raise_for_status()


def _fill_through_receiver(url: str, workdir: Path) -> None:
    """Two connections (so a missing connection filter shows), each a team sent over OTLP."""
    receiver = start_receiver(url, workdir)
    try:
        for name, team in (("team", TEAM), ("other-team", OTHER_TEAM)):
            connection_id, api_key = create_connection(url, name)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "otlp_receiver",
                    "fake",
                    *team,
                    "--connection",
                    str(connection_id),
                    "--url",
                    receiver.url,
                    "--api-key",
                    api_key,
                    "--quiet",
                    "--no-ai",  # the proofs' AI team comes from tests/grafana/ai_team.py
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
                timeout=300,
            )
            _post_ai(receiver.url, api_key, team)
    finally:
        receiver.stop()


def _devlake_nulls(url: str) -> None:
    """DevLake itself writes a missing JSON value as the text `null`: make some rows look like that."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE _tool_developer_metrics SET development_activity = 'null'"
                " WHERE MOD(DAYOFYEAR(date) + LENGTH(developer_id), 20) = 0"
            )
        conn.commit()
    finally:
        conn.close()


@pytest.fixture(scope="session")
def team_db(mysql_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two databases filled through the real receiver: JSON columns (devtel's) and TEXT (DevLake's)."""
    import sqlalchemy as sa

    base = sa.engine.make_url(mysql_url)
    names = {variant: f"{base.database}_{variant}_{secrets.token_hex(3)}" for variant in ("json", "text")}

    def on_server(*statements: str) -> None:
        # A fresh connection each time: the server may have been restarted by another test since.
        admin = connect(mysql_url)
        try:
            with admin.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            admin.close()

    try:
        on_server(*(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4" for name in names.values()))
        urls = {v: base.set(database=n).render_as_string(hide_password=False) for v, n in names.items()}
        text = connect(urls["text"])
        with text.cursor() as cur:
            cur.execute(DEVLAKE_TABLE.read_text())
        text.close()
        for variant, url in urls.items():
            _fill_through_receiver(url, tmp_path_factory.mktemp(f"grafana-{variant}"))
        _devlake_nulls(urls["text"])
        yield urls
    finally:
        on_server(*(f"DROP DATABASE IF EXISTS `{name}`" for name in names.values()))
