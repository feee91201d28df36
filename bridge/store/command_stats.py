"""A day's command statistics stored: the merged figures replace what the day held."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from agent.contract import COMMAND_STAT_KEYS
from bridge.mapping.command_stats import StatKey
from bridge.mapping.dates import utc_now
from bridge.mapping.snapshots import DayKey
from bridge.schema.tables import command_stats
from bridge.store.keyed import KeyedStatement

_DELETE_DAYS = KeyedStatement.build(
    (command_stats.c.connection_id, command_stats.c.developer_id, command_stats.c.date),
    lambda where: command_stats.delete().where(where),
)
_INSERT = command_stats.insert()


def replace_day_stats_in(conn: Connection, days: dict[DayKey, dict[StatKey, dict[str, float]]]) -> None:
    """The day's statistics replace what was stored for it: rebuilt, so nothing doubles."""
    if not days:
        return
    conn.execute(*_DELETE_DAYS.bind(sorted(days)))
    now = utc_now()
    rows = [
        {
            "connection_id": day[0],
            "developer_id": day[1],
            "date": day[2],
            **dict(zip(COMMAND_STAT_KEYS, key, strict=True)),
            **{figure: value for figure, value in figures.items()},
            "count": int(figures["count"]),
            "updated_at": now,
        }
        for day, stats in sorted(days.items())
        for key, figures in sorted(stats.items())
    ]
    if rows:
        conn.execute(_INSERT, rows)
