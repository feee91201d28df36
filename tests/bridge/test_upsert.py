"""Upserts on real SQLite and MariaDB: idempotent, last write wins, created_at kept."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bridge.mapping.day import DeveloperDay
from bridge.schema.migrate import ensure_schema
from bridge.schema.tables import developer_metrics
from bridge.store.database import make_engine
from bridge.store.upsert import upsert_days

DAY = dt.date(2026, 2, 19)

DEVLAKE_DDL = (Path(__file__).resolve().parents[1] / "testdata" / "devlake_metrics_table.sql").read_text()


def a_day(developer: str = "sarah", hours: int = 5, commits: int = 3, connection: int = 1) -> DeveloperDay:
    return DeveloperDay(
        connection_id=connection,
        developer_id=developer,
        date=DAY,
        email=f"{developer}@example.com",
        active_hours=hours,
        git_activity={"total_commits": commits, "repositories": []},
        development_activity={"test_runs_detected": 1, "build_commands_detected": 2},
        tools_used=["vscode"],
        project_context=[],
    )


def rows(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(developer_metrics).order_by(developer_metrics.c.developer_id)))


def test_same_day_twice_is_one_row_with_the_second_values(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    upsert_days(engine, [a_day(hours=5, commits=3)])
    first = rows(engine)[0]
    time.sleep(0.01)
    upsert_days(engine, [a_day(hours=7, commits=9)])
    (row,) = rows(engine)
    assert (row.active_hours, row.git_activity["total_commits"]) == (7, 9)
    assert row.created_at == first.created_at
    assert row.updated_at > first.updated_at


def test_replaying_a_batch_changes_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    batch = [a_day(f"dev{i}", hours=i % 9) for i in range(1200)]
    upsert_days(engine, batch, batch_size=500)
    before = [(r.developer_id, r.active_hours, r.git_activity) for r in rows(engine)]
    upsert_days(engine, batch, batch_size=500)
    after = [(r.developer_id, r.active_hours, r.git_activity) for r in rows(engine)]
    assert len(before) == 1200
    assert before == after


def test_last_write_wins_inside_one_batch(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    upsert_days(engine, [a_day(hours=1), a_day(hours=2), a_day(hours=3)])
    (row,) = rows(engine)
    assert row.active_hours == 3


def test_absent_json_fields_are_sql_null(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    upsert_days(engine, [DeveloperDay(connection_id=1, developer_id="bare", date=DAY)])
    with engine.connect() as conn:
        nulls = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM _tool_developer_metrics WHERE git_activity IS NULL "
                "AND tools_used IS NULL AND project_context IS NULL AND development_activity IS NULL"
            )
        ).scalar_one()
    assert nulls == 1


@pytest.mark.mysql
def test_devlake_created_text_table_is_used_unchanged(fresh_mysql_url: str) -> None:
    engine = make_engine(fresh_mysql_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(DEVLAKE_DDL)
        ddl_before = conn.exec_driver_sql("SHOW CREATE TABLE _tool_developer_metrics").one()[1]
    ensure_schema(engine)
    upsert_days(engine, [a_day(hours=4, commits=8)])
    with engine.connect() as conn:
        ddl_after = conn.exec_driver_sql("SHOW CREATE TABLE _tool_developer_metrics").one()[1]
        commits = conn.exec_driver_sql(
            "SELECT JSON_EXTRACT(git_activity, '$.total_commits') FROM _tool_developer_metrics"
        ).scalar_one()
    assert ddl_after == ddl_before
    assert int(commits) == 8


@pytest.mark.mysql
def test_created_table_matches_devlake_columns(fresh_mysql_url: str) -> None:
    engine = make_engine(fresh_mysql_url)
    ensure_schema(engine)
    inspector = sa.inspect(engine)
    columns = {c["name"]: str(c["type"]).upper() for c in inspector.get_columns("_tool_developer_metrics")}
    assert set(columns) == {
        "connection_id",
        "developer_id",
        "date",
        "email",
        "name",
        "hostname",
        "active_hours",
        "git_activity",
        "development_activity",
        "tools_used",
        "project_context",
        "os_info",
        "created_at",
        "updated_at",
    }
    assert columns["created_at"].startswith("DATETIME") and columns["active_hours"] == "BIGINT"
    assert inspector.get_pk_constraint("_tool_developer_metrics")["constrained_columns"] == [
        "connection_id",
        "developer_id",
        "date",
    ]
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("_tool_developer_metrics")}
    assert indexes == {"idx__tool_developer_metrics_email": ["email"]}
    with engine.connect() as conn:
        ddl = conn.exec_driver_sql("SHOW CREATE TABLE _tool_developer_metrics").one()[1]
    assert "datetime(3)" in ddl
    # MariaDB spells JSON as longtext with a json_valid check.
    assert "json_valid(`git_activity`)" in ddl


# Every character MySQL's string literals treat specially, with and without backslash escapes.
AWKWARD = "o'brien\\\\'; DROP TABLE x; -- \" \x00 \x1a \n \r \t % %% \\' \\\\ ünï"


def test_awkward_strings_are_stored_byte_for_byte(db_url: str) -> None:
    """Quoting is exact whatever the session's sql_mode (the receiver turns NO_BACKSLASH_ESCAPES on
    for MySQL, bridge/store/database.py): the raw column read back is the same text."""
    engine = make_engine(db_url)
    ensure_schema(engine)
    day = dataclasses.replace(
        a_day(AWKWARD), git_activity={"total_commits": 1, "repositories": [{"name": AWKWARD, "commits": 1}]}
    )
    upsert_days(engine, [day])
    with engine.connect() as conn:
        query = "SELECT developer_id, git_activity FROM _tool_developer_metrics"
        developer, text = conn.exec_driver_sql(query).one()
    assert developer == AWKWARD
    assert json.loads(text)["repositories"][0]["name"] == AWKWARD


def test_the_receivers_mysql_sessions_keep_the_servers_sql_mode(mysql_url: str) -> None:
    import pymysql

    url = sa.engine.make_url(mysql_url)
    plain = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
    )
    with plain.cursor() as cursor:
        cursor.execute("SELECT @@session.sql_mode")
        (server_mode,) = cursor.fetchone()
    plain.close()
    with make_engine(mysql_url).connect() as conn:
        mode = conn.exec_driver_sql("SELECT @@session.sql_mode").scalar_one()
    assert set(mode.split(",")) == set(filter(None, server_mode.split(","))) | {"NO_BACKSLASH_ESCAPES"}
