"""AI points into ``_tool_developer_ai_metrics``, in the caller's transaction, idempotently.

``_devtel_ai_points`` keeps the last point of every stream (per start time), and decides what a
point adds:

- delta: its value, once; the same interval again (a retry, a replay) adds nothing;
- cumulative: the increase since the stream's last point; a value below the last one, or a new
  start time, is a reset, so the whole value is new; an older point than the last adds nothing;
- gauge (devtel's full-day totals): the difference to the install's last total for that day, so a
  newer snapshot replaces the older one and a late older one never wins.

The increases are added to the rows they belong to, and each touched row's time saved is
recomputed from its lines and waiting time: ``max(0, lines_added × seconds_per_line − wait_s)``.
On MySQL the state and the rows are read with ``FOR UPDATE``, so replicas writing one stream
serialise instead of counting it twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection

from bridge.mapping.ai_mapping import CUMULATIVE, DELTA, AiPoint
from bridge.mapping.dates import utc_now
from bridge.schema.tables import AI_MEASURES, ai_metrics, ai_points, developer_metrics
from bridge.store.keyed import KeyedStatement
from bridge.store.upsert import for_dialect

DEFAULT_SECONDS_PER_LINE = 12.0  # the middle of the seed's 10-15 s a hand-typed line takes
_CHUNK = 400  # keys per IN list, well below every driver's parameter limit
RowKey = tuple[int, str, dt.date, str, str, str]
StateKey = tuple[int, str, int]


@dataclass(frozen=True, slots=True)
class TimeSaved:
    """The documented assumption behind time saved (DEVTEL_AI_SECONDS_PER_LINE)."""

    seconds_per_line: float = DEFAULT_SECONDS_PER_LINE

    def of(self, lines_added: float, wait_s: float) -> float:
        return max(0.0, lines_added * self.seconds_per_line - wait_s)


DEFAULT_TIME_SAVED = TimeSaved()


def increase(point: AiPoint, last: tuple[int, float] | None) -> float | None:
    """What ``point`` adds given the stream's last (time_ns, value); None when it adds nothing."""
    if last is None:
        return point.value
    last_time, last_value = last
    if point.time_ns <= last_time or point.kind == DELTA:
        return None  # already counted, or older than what was
    if point.kind == CUMULATIVE:
        return point.value - last_value if point.value >= last_value else point.value
    return point.value - last_value


def _chunks(keys: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


_STATE_COLUMNS = (ai_points.c.connection_id, ai_points.c.stream, ai_points.c.start_ns)
_ROW_COLUMNS = tuple(
    ai_metrics.c[name] for name in ("connection_id", "developer_id", "date", "tool", "language", "feature")
)
# Built once; FOR UPDATE is dropped by SQLite, which locks the whole file anyway.
_READ_STATE = KeyedStatement.build(
    _STATE_COLUMNS,
    lambda where: (
        sa.select(*_STATE_COLUMNS, ai_points.c.time_ns, ai_points.c.value).where(where).with_for_update()
    ),
)
_READ_ROWS = KeyedStatement.build(
    _ROW_COLUMNS, lambda where: sa.select(ai_metrics).where(where).with_for_update()
)


def _read_state(conn: Connection, keys: list[StateKey]) -> dict[StateKey, tuple[int, float]]:
    found: dict[StateKey, tuple[int, float]] = {}
    for chunk in _chunks(keys):
        for row in conn.execute(*_READ_STATE.bind(chunk)):
            found[(row.connection_id, row.stream, row.start_ns)] = (row.time_ns, row.value)
    return found


def _read_rows(conn: Connection, keys: list[RowKey]) -> dict[RowKey, dict[str, float]]:
    found: dict[RowKey, dict[str, float]] = {}
    for chunk in _chunks(keys):
        for row in conn.execute(*_READ_ROWS.bind(chunk)):
            key = (row.connection_id, row.developer_id, row.date, row.tool, row.language, row.feature)
            found[key] = {m: float(getattr(row, m)) for m in AI_MEASURES}
    return found


def _upserts(table: sa.Table, updated: Sequence[str]) -> dict[str, Any]:
    mine = mysql.insert(table)
    lite = sqlite.insert(table)
    keys = [c.name for c in table.primary_key.columns]
    return {
        "mysql": mine.on_duplicate_key_update({c: mine.inserted[c] for c in updated}),
        "sqlite": lite.on_conflict_do_update(
            index_elements=keys, set_={c: lite.excluded[c] for c in updated}
        ),
    }


# Built once: a batch only binds values. The date moves on, so retention keeps live streams.
_UPSERT_STATE = _upserts(ai_points, ["time_ns", "value", "date", "updated_at"])
_UPSERT_ROWS = _upserts(ai_metrics, [*AI_MEASURES, "time_saved_s", "updated_at"])


def _upsert(conn: Connection, statements: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(for_dialect(statements, conn.dialect.name, "AI upsert"), rows)


def devlake_ids(conn: Connection, connection_id: int, emails: Iterable[str]) -> dict[str, str]:
    """The DevLake developer id of each email the receiver has seen in a developer's day rows."""
    t = developer_metrics
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(emails))):
        stmt = (
            sa.select(t.c.email, sa.func.min(t.c.developer_id))
            .where(t.c.connection_id == connection_id, t.c.email.in_(chunk))
            .group_by(t.c.email)
        )
        found.update({email: developer for email, developer in conn.execute(stmt)})
    return found


def _joined(conn: Connection, points: Sequence[AiPoint]) -> list[AiPoint]:
    """A tool that names the developer by email is stored under their DevLake id where it is known,
    so their AI rows join their DevLake rows."""
    emails: dict[int, set[str]] = defaultdict(set)
    for p in points:
        if "@" in p.developer_id:
            emails[p.connection_id].add(p.developer_id)
    ids = {
        (cid, email): dev
        for cid, found in emails.items()
        for email, dev in devlake_ids(conn, cid, found).items()
    }
    return [
        dataclasses.replace(p, developer_id=ids[(p.connection_id, p.developer_id)])
        if (p.connection_id, p.developer_id) in ids
        else p
        for p in points
    ]


def store_ai_points_in(conn: Connection, points: Sequence[AiPoint], time_saved: TimeSaved) -> int:
    """Apply the points that are new; returns the number of AI rows changed."""
    if not points:
        return 0
    points = _joined(conn, points)
    state = _read_state(conn, sorted({p.state_key for p in points}))
    changed: dict[StateKey, AiPoint] = {}
    added: dict[RowKey, dict[str, float]] = defaultdict(lambda: dict.fromkeys(AI_MEASURES, 0.0))
    for point in sorted(points, key=lambda p: (p.time_ns, p.value)):  # in a batch too, oldest first
        step = increase(point, state.get(point.state_key))
        if step is None:
            continue
        state[point.state_key] = (point.time_ns, point.value)
        changed[point.state_key] = point
        added[point.row_key][point.measure] += step
    if not changed:
        return 0
    now = utc_now()
    _upsert(
        conn,
        _UPSERT_STATE,
        [
            {
                "connection_id": p.connection_id,
                "stream": p.stream,
                "start_ns": p.start_ns,
                "time_ns": p.time_ns,
                "value": p.value,
                "developer_id": p.developer_id,
                "date": p.date,
                "updated_at": now,
            }
            for p in (changed[key] for key in sorted(changed))
        ],
    )
    keys = sorted(added)
    current = _read_rows(conn, keys)
    rows = []
    for key in keys:
        totals = current.get(key, dict.fromkeys(AI_MEASURES, 0.0))
        totals = {m: totals[m] + added[key][m] for m in AI_MEASURES}
        connection_id, developer_id, date, tool, language, feature = key
        rows.append(
            {
                "connection_id": connection_id,
                "developer_id": developer_id,
                "date": date,
                "tool": tool,
                "language": language,
                "feature": feature,
                **totals,
                "time_saved_s": time_saved.of(totals["lines_added"], totals["wait_s"]),
                "updated_at": now,
            }
        )
    _upsert(conn, _UPSERT_ROWS, rows)
    return len(rows)
