"""What one base-telemetry event says about an install, validated; bridge/store/installs.py
stores it forward in time only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from agent.contract import RES_INSTANCE_ID
from bridge.errors import InvalidReport
from bridge.mapping.dates import utc_now
from bridge.mapping.validate import optional_text_at, plausible_seconds, text_at
from bridge.schema.tables import INSTALL_DESCRIPTIVE


@dataclass(frozen=True, slots=True)
class InstallSighting:
    """What one base-telemetry event says about an install (times naive UTC)."""

    connection_id: int
    install_id: str
    seen_at: dt.datetime
    fields: tuple[tuple[str, str | None], ...]
    first_seen_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None


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
        fields=tuple((name, optional_text_at(attrs.get(name), name)) for name in INSTALL_DESCRIPTIVE),
        first_seen_at=_timestamp(attrs.get("first_seen_at"), "first_seen_at"),
        heartbeat_at=heartbeat,
    )
