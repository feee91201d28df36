"""A `_tool_developer_ai_metrics` made before the commit, pull-request and active-time columns (0003)
and the turn and API-request columns (0004) gets them, keeps its rows, and a second upgrade changes
nothing."""

from __future__ import annotations

import sqlalchemy as sa

from bridge.schema.migrate import ensure_schema
from bridge.store.database import make_engine

OLD_TABLE = """
CREATE TABLE _tool_developer_ai_metrics (
    connection_id BIGINT NOT NULL, developer_id VARCHAR(255) NOT NULL, date DATE NOT NULL,
    tool VARCHAR(64) NOT NULL, language VARCHAR(64) NOT NULL, feature VARCHAR(32) NOT NULL,
    suggestions_shown DOUBLE NOT NULL, suggestions_accepted DOUBLE NOT NULL, lines_added DOUBLE NOT NULL,
    lines_removed DOUBLE NOT NULL, sessions DOUBLE NOT NULL, tokens DOUBLE NOT NULL,
    cost_usd DOUBLE NOT NULL, wait_s DOUBLE NOT NULL, time_saved_s DOUBLE NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (connection_id, developer_id, date, tool, language, feature)
)
"""


def test_an_old_ai_table_gets_the_new_columns_and_keeps_its_rows(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(OLD_TABLE))
            conn.execute(
                sa.text(
                    "INSERT INTO _tool_developer_ai_metrics VALUES"
                    " (1, 'ana', '2026-03-02', 'claude_code', 'go', 'agent', 4, 3, 10, 0, 1, 900, 0.5, 0,"
                    " 120, '2026-03-02 10:00:00')"
                )
            )
        ensure_schema(engine, upgrade_older=True)
        ensure_schema(engine)  # at the head now: nothing to do, no error
        columns = {c["name"] for c in sa.inspect(engine).get_columns("_tool_developer_ai_metrics")}
        assert {"commits", "pull_requests", "active_s", "turns", "api_requests"} <= columns
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT suggestions_accepted, commits, pull_requests, active_s, turns, api_requests"
                    " FROM _tool_developer_ai_metrics"
                )
            ).one()
        assert tuple(row) == (3.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    finally:
        engine.dispose()
