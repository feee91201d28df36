"""Writing day snapshots and rebuilding the DevLake rows they touch, in the caller's transaction.

Three statements per batch however many requests it holds: one conditional upsert of the
snapshots (a field only moves forward in time), one locking read of every snapshot of the
touched days, one upsert of the rebuilt rows. The locking read makes replicas that write the
same day at once serialise instead of losing one another's install.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection

from bridge.ai_mapping import AiPoint
from bridge.ai_store import DEFAULT_TIME_SAVED, TimeSaved, store_ai_points_in
from bridge.command_stats import merge_command_stats, replace_day_stats_in
from bridge.installs import InstallSighting, store_installs_in
from bridge.schema import day_snapshots, dump_json
from bridge.snapshots import COMMAND_STATS, DayKey, FieldSnapshot, install_values, merge_day
from bridge.upsert import upsert_days_in, utc_now

_KEY_COLUMNS = ("connection_id", "developer_id", "date", "install_id", "field")


def _snapshot_upsert(dialect: str) -> Any:
    table = day_snapshots
    if dialect == "mysql":
        stmt = mysql.insert(table)
        newer = stmt.inserted.observed_at >= table.c.observed_at
        # MySQL assigns left to right: decide on `value` before `observed_at` moves.
        return stmt.on_duplicate_key_update(
            [
                ("value", sa.case((newer, stmt.inserted.value), else_=table.c.value)),
                ("updated_at", sa.case((newer, stmt.inserted.updated_at), else_=table.c.updated_at)),
                ("observed_at", sa.func.greatest(table.c.observed_at, stmt.inserted.observed_at)),
            ]
        )
    if dialect == "sqlite":
        stmt = sqlite.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(_KEY_COLUMNS),
            set_={
                "value": stmt.excluded.value,
                "observed_at": stmt.excluded.observed_at,
                "updated_at": stmt.excluded.updated_at,
            },
            where=stmt.excluded.observed_at >= table.c.observed_at,
        )
    raise ValueError(f"no snapshot upsert for the {dialect} dialect")


def _newest_per_key(snapshots: Sequence[FieldSnapshot]) -> list[FieldSnapshot]:
    """Within one batch too, only the newest of a stored field counts; sorted to lock in one order."""
    newest: dict[tuple[Any, ...], FieldSnapshot] = {}
    for snap in snapshots:
        key = (*snap.day_key, snap.install_id, snap.stored_field)
        if key not in newest or snap.observed_at >= newest[key].observed_at:
            newest[key] = snap
    return [newest[key] for key in sorted(newest)]


def _read_days(conn: Connection, keys: list[DayKey]) -> dict[DayKey, list[FieldSnapshot]]:
    table = day_snapshots
    stmt = sa.select(table).where(
        sa.tuple_(table.c.connection_id, table.c.developer_id, table.c.date).in_(keys)
    )
    if conn.dialect.name == "mysql":
        stmt = stmt.with_for_update()
    found: dict[DayKey, list[FieldSnapshot]] = defaultdict(list)
    for row in conn.execute(stmt):
        name, _, source = row.field.partition("@")
        snap = FieldSnapshot(
            row.connection_id,
            row.developer_id,
            row.date,
            row.install_id,
            name,
            source,
            row.observed_at,
            json.loads(row.value),
        )
        found[snap.day_key].append(snap)
    return found


def store_snapshots_in(conn: Connection, snapshots: Sequence[FieldSnapshot]) -> int:
    """Store the snapshots and rebuild the rows of the days they touch; returns rows rebuilt."""
    unique = _newest_per_key(snapshots)
    if not unique:
        return 0
    now = utc_now()
    conn.execute(
        _snapshot_upsert(conn.dialect.name),
        [
            {
                "connection_id": s.connection_id,
                "developer_id": s.developer_id,
                "date": s.date,
                "install_id": s.install_id,
                "field": s.stored_field,
                "observed_at": s.observed_at,
                "value": dump_json(s.value),
                "updated_at": now,
            }
            for s in unique
        ],
    )
    keys = sorted({s.day_key for s in unique})
    stored = _read_days(conn, keys)
    stats_days = sorted({s.day_key for s in unique if s.field == COMMAND_STATS})
    replace_day_stats_in(
        conn, {key: merge_command_stats(install_values(stored[key], COMMAND_STATS)) for key in stats_days}
    )
    return upsert_days_in(conn, [merge_day(key, stored[key]) for key in keys])


def store_otlp_in(
    conn: Connection,
    items: Sequence[FieldSnapshot | InstallSighting | AiPoint],
    time_saved: TimeSaved = DEFAULT_TIME_SAVED,
) -> int:
    """One batch of OTLP-derived writes, whatever mix of days, install sightings and AI points it holds."""
    installs = [item for item in items if isinstance(item, InstallSighting)]
    snapshots = [item for item in items if isinstance(item, FieldSnapshot)]
    ai = [item for item in items if isinstance(item, AiPoint)]
    store_installs_in(conn, installs)
    return store_snapshots_in(conn, snapshots) + store_ai_points_in(conn, ai, time_saved)
