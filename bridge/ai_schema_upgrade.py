"""Columns added to ``_tool_developer_ai_metrics`` after it first shipped: an existing table gets
them (as 0) at start, so a receiver upgraded in place keeps its rows. Safe to run again and from
several replicas at once: a column another replica added first is no error."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.schema import ai_metrics

log = logging.getLogger("devtel.bridge")


def add_missing_ai_columns(engine: Engine) -> list[str]:
    """ALTER TABLE … ADD COLUMN for every measure the table lacks; returns the columns added."""
    present = {c["name"] for c in sa.inspect(engine).get_columns(ai_metrics.name)}
    added = []
    for column in ai_metrics.columns:
        if column.name in present:
            continue
        kind = column.type.compile(dialect=engine.dialect)
        statement = f"ALTER TABLE {ai_metrics.name} ADD COLUMN {column.name} {kind} NOT NULL DEFAULT 0"
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
        except sa.exc.OperationalError:
            if column.name not in {c["name"] for c in sa.inspect(engine).get_columns(ai_metrics.name)}:
                raise
            continue  # another replica added it first
        log.info("added column %s to %s", column.name, ai_metrics.name)
        added.append(column.name)
    return added
