"""Folding the per-field snapshot table of releases before install-days, run by migration 0001.

``_devtel_day_snapshots`` (one row per install, day, field and source) became
``_devtel_install_days`` (one row per install-day). Its rows are folded in through the normal
write path, so a newer value already in the new table is never overwritten, and the old table
is dropped once folded. Days are read a page at a time (keyset pagination on the day key), so
memory stays bounded however large the old table is, on the single connection a migration has.
"""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bridge.mapping.snapshots import FieldSnapshot
from bridge.store.snapshot_store import store_snapshots_in

log = logging.getLogger("devtel.bridge")
LEGACY_SNAPSHOTS = "_devtel_day_snapshots"


def _snapshot(row: sa.Row) -> FieldSnapshot:
    name, _, source = row.field.partition("@")
    return FieldSnapshot(
        row.connection_id,
        row.developer_id,
        row.date,
        row.install_id,
        name,
        source,
        row.observed_at,
        json.loads(row.value),
    )


def fold_legacy_snapshots(conn: Connection, *, chunk_days: int = 500) -> int:
    """Move the per-field snapshot rows into install-days; returns the number of old rows folded."""
    if not sa.inspect(conn).has_table(LEGACY_SNAPSHOTS):
        return 0
    table = sa.Table(LEGACY_SNAPSHOTS, sa.MetaData(), autoload_with=conn)
    day_key = (table.c.connection_id, table.c.developer_id, table.c.date)
    folded = 0
    after: tuple | None = None
    while True:
        page = sa.select(*day_key).distinct().order_by(*day_key).limit(chunk_days)
        if after is not None:
            page = page.where(sa.tuple_(*day_key) > after)
        days = [tuple(day) for day in conn.execute(page)]
        if not days:
            break
        rows = conn.execute(sa.select(table).where(sa.tuple_(*day_key).in_(days))).all()
        store_snapshots_in(conn, [_snapshot(row) for row in rows])
        folded += len(rows)
        after = days[-1]
    table.drop(conn)
    log.info("folded %d rows of %s into _devtel_install_days", folded, LEGACY_SNAPSHOTS)
    return folded
