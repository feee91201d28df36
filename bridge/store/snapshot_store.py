"""Writing day snapshots and rebuilding the DevLake rows they touch, in the caller's transaction.

Each install's view of a day is one row of ``_devtel_install_days``. A batch, however many
requests it holds, costs a fixed handful of statements: one upsert that creates and locks the
touched install-days, one locking read of every install of the touched days, then writes only
for what changed: the install-days, the command statistics, the rebuilt DevLake rows. A replay
writes nothing. The locks make replicas that write the same day at once serialise instead of
losing one another's install; they are taken in key order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection

from bridge.mapping.ai_mapping import AiPoint
from bridge.mapping.command_stats import merge_command_stats
from bridge.mapping.dates import utc_now
from bridge.mapping.installs import InstallSighting
from bridge.mapping.snapshots import COMMAND_STATS, DayKey, FieldSnapshot, install_values, merge_day
from bridge.schema.tables import dump_json, install_days
from bridge.store.ai_store import DEFAULT_TIME_SAVED, TimeSaved, store_ai_points_in
from bridge.store.command_stats import replace_day_stats_in
from bridge.store.installs import store_installs_in
from bridge.store.keyed import KeyedStatement
from bridge.store.upsert import for_dialect, upsert_days_in

InstallDayKey = tuple[int, str, Any, str]  # connection, developer, date, install
Fields = dict[str, list[Any]]  # "<field>@<source>" -> [observed_at, value]
_KEY_COLUMNS = ("connection_id", "developer_id", "date", "install_id")


def _upserts(*, touch: bool) -> dict[str, Any]:
    """``touch``: create missing rows and lock existing ones, changing nothing."""
    table = install_days
    mine = mysql.insert(table)
    lite = sqlite.insert(table)
    if touch:
        return {
            "mysql": mine.on_duplicate_key_update(connection_id=table.c.connection_id),
            "sqlite": lite.on_conflict_do_nothing(index_elements=list(_KEY_COLUMNS)),
        }
    return {
        "mysql": mine.on_duplicate_key_update(
            fields=mine.inserted.fields, updated_at=mine.inserted.updated_at
        ),
        "sqlite": lite.on_conflict_do_update(
            index_elements=list(_KEY_COLUMNS),
            set_={"fields": lite.excluded.fields, "updated_at": lite.excluded.updated_at},
        ),
    }


# Built once: a request only binds values. FOR UPDATE is dropped by SQLite, which locks the file.
_TOUCH = _upserts(touch=True)
_WRITE = _upserts(touch=False)
_DAY_COLUMNS = (install_days.c.connection_id, install_days.c.developer_id, install_days.c.date)
_READ_DAYS = KeyedStatement.build(
    _DAY_COLUMNS,
    lambda where: (
        sa.select(*_DAY_COLUMNS, install_days.c.install_id, install_days.c.fields)
        .where(where)
        .with_for_update()
    ),
)


def _key_row(key: InstallDayKey, fields: str, now: Any) -> dict[str, Any]:
    return {**dict(zip(_KEY_COLUMNS, key, strict=True)), "fields": fields, "updated_at": now}


def _read_days(conn: Connection, days: list[DayKey]) -> dict[DayKey, dict[str, Fields]]:
    """day -> install -> its fields, for every install of the given days (locked on MySQL)."""
    found: dict[DayKey, dict[str, Fields]] = defaultdict(dict)
    for connection_id, developer_id, date, install_id, fields in conn.execute(*_READ_DAYS.bind(days)):
        found[(connection_id, developer_id, date)][install_id] = json.loads(fields)
    return found


def _apply(fields: Fields, snapshots: list[FieldSnapshot]) -> set[str]:
    """Move fields forward in time (a newer or equal observation replaces); the names changed."""
    changed = set()
    for snap in snapshots:
        current = fields.get(snap.stored_field)
        if current is not None and snap.observed_at < current[0]:
            continue
        entry = [snap.observed_at, json.loads(dump_json(snap.value))]  # as it will read back
        if entry != current:
            fields[snap.stored_field] = entry
            changed.add(snap.field)
    return changed


def _as_snapshots(day: DayKey, installs: dict[str, Fields]) -> list[FieldSnapshot]:
    out = []
    for install_id, fields in installs.items():
        for stored_field, (observed_at, value) in fields.items():
            name, _, source = stored_field.partition("@")
            out.append(FieldSnapshot(*day, install_id, name, source, observed_at, value))
    return out


def store_snapshots_in(conn: Connection, snapshots: Sequence[FieldSnapshot]) -> int:
    """Store the snapshots and rebuild the rows of the days they changed; returns rows rebuilt."""
    if not snapshots:
        return 0
    incoming: dict[InstallDayKey, list[FieldSnapshot]] = defaultdict(list)
    for snap in snapshots:
        incoming[(*snap.day_key, snap.install_id)].append(snap)
    keys = sorted(incoming)
    now = utc_now()
    touch = for_dialect(_TOUCH, conn.dialect.name, "install-day upsert")
    conn.execute(touch, [_key_row(key, "{}", now) for key in keys])
    stored = _read_days(conn, sorted({key[:3] for key in keys}))

    changed_installs: list[InstallDayKey] = []
    changed_days: dict[DayKey, set[str]] = defaultdict(set)
    for key in keys:
        day: DayKey = key[:3]  # type: ignore[assignment]
        fields = stored[day].setdefault(key[3], {})
        changed = _apply(fields, incoming[key])
        if changed:
            changed_installs.append(key)
            changed_days[day] |= changed
    if not changed_installs:
        return 0
    conn.execute(
        for_dialect(_WRITE, conn.dialect.name, "install-day upsert"),
        [_key_row(key, dump_json(stored[key[:3]][key[3]]), now) for key in changed_installs],  # type: ignore[index]
    )
    merged = {day: _as_snapshots(day, stored[day]) for day in sorted(changed_days)}
    replace_day_stats_in(
        conn,
        {
            day: merge_command_stats(install_values(rows, COMMAND_STATS))
            for day, rows in merged.items()
            if COMMAND_STATS in changed_days[day]
        },
    )
    return upsert_days_in(conn, [merge_day(day, rows) for day, rows in merged.items()])


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
