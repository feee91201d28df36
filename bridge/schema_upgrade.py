"""Upgrades of devtel's own tables, run by ensure_schema; each safe to run again and concurrently.

``_devtel_day_snapshots`` (one row per install, day, field and source) became
``_devtel_install_days`` (one row per install-day). Its rows are folded in through the normal
write path, so a newer value already in the new table is never overwritten, and the old table
is dropped once folded. Interrupted, the next start folds again: the fold is idempotent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.snapshot_store import store_snapshots_in
from bridge.snapshots import FieldSnapshot
from bridge.upsert import run_in_transaction

log = logging.getLogger("devtel.bridge")
LEGACY_SNAPSHOTS = "_devtel_day_snapshots"


def _legacy_snapshots(engine: Engine, table: sa.Table, chunk_rows: int) -> Iterator[list[FieldSnapshot]]:
    """The old rows in key order, in chunks of about ``chunk_rows`` that never split a day."""
    day_key = (table.c.connection_id, table.c.developer_id, table.c.date)
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True).execute(sa.select(table).order_by(*day_key))
        chunk: list[FieldSnapshot] = []
        for row in rows:
            snap = FieldSnapshot(
                row.connection_id,
                row.developer_id,
                row.date,
                row.install_id,
                *row.field.partition("@")[::2],
                row.observed_at,
                json.loads(row.value),
            )
            if len(chunk) >= chunk_rows and chunk[-1].day_key != snap.day_key:
                yield chunk
                chunk = []
            chunk.append(snap)
        if chunk:
            yield chunk


def fold_legacy_snapshots(engine: Engine, *, chunk_rows: int = 5000) -> int:
    """Move the per-field snapshot rows into install-days; returns the number of old rows folded."""
    if not sa.inspect(engine).has_table(LEGACY_SNAPSHOTS):
        return 0
    table = sa.Table(LEGACY_SNAPSHOTS, sa.MetaData(), autoload_with=engine)
    folded = 0
    for chunk in _legacy_snapshots(engine, table, chunk_rows):
        run_in_transaction(engine, lambda conn, chunk=chunk: store_snapshots_in(conn, chunk))
        folded += len(chunk)
    table.drop(engine, checkfirst=True)
    log.info("folded %d rows of %s into _devtel_install_days", folded, LEGACY_SNAPSHOTS)
    return folded
