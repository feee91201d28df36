"""The install fleet from base telemetry: one row per install, updated only forward in time.

A replayed heartbeat changes nothing; an older event arriving late never overwrites what a newer
one said; first_seen_at only moves earlier, last_seen_at and heartbeat_at only later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection

from bridge.mapping.dates import utc_now
from bridge.mapping.installs import InstallSighting
from bridge.schema.tables import INSTALL_DESCRIPTIVE as DESCRIPTIVE
from bridge.schema.tables import installs
from bridge.store.upsert import for_dialect


def _mysql_upsert() -> Any:
    table = installs
    stmt = mysql.insert(table)
    new = stmt.inserted
    newer = sa.or_(table.c.last_seen_at.is_(None), new.last_seen_at >= table.c.last_seen_at)
    later = [(name, sa.case((newer, new[name]), else_=table.c[name])) for name in DESCRIPTIVE]
    # MySQL assigns left to right: the descriptive columns compare against last_seen_at first.
    return stmt.on_duplicate_key_update(
        [
            *later,
            (
                "first_seen_at",
                sa.func.least(
                    sa.func.coalesce(table.c.first_seen_at, new.first_seen_at),
                    sa.func.coalesce(new.first_seen_at, table.c.first_seen_at),
                ),
            ),
            (
                "heartbeat_at",
                sa.func.greatest(
                    sa.func.coalesce(table.c.heartbeat_at, new.heartbeat_at),
                    sa.func.coalesce(new.heartbeat_at, table.c.heartbeat_at),
                ),
            ),
            ("last_seen_at", sa.func.greatest(table.c.last_seen_at, new.last_seen_at)),
            ("updated_at", new.updated_at),
        ]
    )


def _sqlite_upsert() -> Any:
    table = installs
    stmt = sqlite.insert(table)
    new = stmt.excluded
    newer = new.last_seen_at >= table.c.last_seen_at
    return stmt.on_conflict_do_update(
        index_elements=["connection_id", "install_id"],
        set_={
            **{name: sa.case((newer, new[name]), else_=table.c[name]) for name in DESCRIPTIVE},
            "first_seen_at": sa.func.min(
                sa.func.coalesce(table.c.first_seen_at, new.first_seen_at),
                sa.func.coalesce(new.first_seen_at, table.c.first_seen_at),
            ),
            "heartbeat_at": sa.func.max(
                sa.func.coalesce(table.c.heartbeat_at, new.heartbeat_at),
                sa.func.coalesce(new.heartbeat_at, table.c.heartbeat_at),
            ),
            "last_seen_at": sa.func.max(table.c.last_seen_at, new.last_seen_at),
            "updated_at": new.updated_at,
        },
    )


# Built once, each moving an install only forward in time: a request only binds values.
_UPSERT = {"mysql": _mysql_upsert(), "sqlite": _sqlite_upsert()}


def store_installs_in(conn: Connection, sightings: Sequence[InstallSighting]) -> int:
    if not sightings:
        return 0
    now = utc_now()
    ordered = sorted(sightings, key=lambda s: (s.connection_id, s.install_id, s.seen_at))
    rows = [
        {
            "connection_id": s.connection_id,
            "install_id": s.install_id,
            **{name: None for name in DESCRIPTIVE},
            **dict(s.fields),
            "first_seen_at": s.first_seen_at,
            "last_seen_at": s.seen_at,
            "heartbeat_at": s.heartbeat_at,
            "updated_at": now,
        }
        for s in ordered
    ]
    # Rows apply in order, oldest first, so within one batch too the newest event wins.
    conn.execute(for_dialect(_UPSERT, conn.dialect.name, "install upsert"), rows)
    return len(rows)
