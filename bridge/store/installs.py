"""The install fleet from base telemetry: one row per install, updated only forward in time.

A replayed heartbeat changes nothing; an older event arriving late never overwrites what a newer
one said; first_seen_at only moves earlier, last_seen_at and heartbeat_at only later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection

from agent.contract import RES_INSTANCE_ID
from bridge.errors import InvalidReport
from bridge.mapping.validate import optional_text_at, plausible_seconds, text_at
from bridge.schema.tables import INSTALL_DESCRIPTIVE, installs
from bridge.store.upsert import for_dialect, utc_now

DESCRIPTIVE = INSTALL_DESCRIPTIVE


@dataclass(frozen=True, slots=True)
class InstallSighting:
    """What one base-telemetry event says about an install (times naive UTC)."""

    connection_id: int
    install_id: str
    seen_at: dt.datetime
    fields: tuple[tuple[str, str | None], ...]
    first_seen_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None


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


def _timestamp(value: Any, field: str) -> dt.datetime | None:
    """ISO 8601 text or Unix seconds, as naive UTC; None when absent. A moment outside
    ``plausible_moment``'s window is the sender's broken clock, refused naming the field."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(plausible_seconds(value, field), dt.UTC)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidReport(field, f"{value[:40]!r} is not an ISO 8601 time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    else:
        raise InvalidReport(field, "must be an ISO 8601 time or Unix seconds")
    plausible_seconds(moment.timestamp(), field)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def sighting_from_event(
    connection_id: int, resource: dict[str, Any], attrs: dict[str, Any], record_time_ns: int
) -> InstallSighting:
    """A base-telemetry event's fixed schema; the install is its install_id, else the resource's."""
    install_id = text_at(attrs.get("install_id") or resource.get(RES_INSTANCE_ID), "install_id")
    seen = _timestamp(record_time_ns / 1e9, "time_unix_nano") if record_time_ns else None
    heartbeat = _timestamp(attrs.get("heartbeat_at"), "heartbeat_at")
    seen_at = seen or heartbeat or _timestamp(attrs.get("last_seen_at"), "last_seen_at") or utc_now()
    return InstallSighting(
        connection_id=connection_id,
        install_id=install_id,
        seen_at=seen_at,
        fields=tuple((name, optional_text_at(attrs.get(name), name)) for name in DESCRIPTIVE),
        first_seen_at=_timestamp(attrs.get("first_seen_at"), "first_seen_at"),
        heartbeat_at=heartbeat,
    )
