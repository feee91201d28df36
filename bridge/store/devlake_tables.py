"""DevLake's own connections and API keys, read (never written) so devtel can stand in for it.

When devtel runs on DevLake's database, the keys already configured on laptops are rows of
``_devlake_api_keys``: the lowercase hex HMAC-SHA256 of the 128-character key, keyed with
DevLake's ``ENCRYPTION_SECRET``, with a regex ``allowed_path`` that DevLake matches, unanchored,
against the request path without ``/rest``, and an optional ``expired_at``. Its connections are
rows of ``_tool_developer_telemetry_connections``. Both tables may be absent (devtel alone).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

DEVLAKE_KEYS = "_devlake_api_keys"
DEVLAKE_CONNECTIONS = "_tool_developer_telemetry_connections"
_CONNECTION_IN_EXTRA = re.compile(r"connectionId:(\d+)")
_CONNECTION_IN_NAME = re.compile(r"developer_telemetry-(\d+)")


@dataclass(frozen=True, slots=True)
class DevLakeKey:
    """One DevLake key: the connection it was made for (None for a general key), its scope."""

    connection_id: int | None
    allowed_path: re.Pattern[str] | None  # None: a pattern Python cannot compile matches nothing
    expired_at: dt.datetime | None  # naive UTC, as DevLake stores it


def devlake_key_hash(encryption_secret: str, api_key: str) -> str:
    """What DevLake stores for a key: hex HMAC-SHA256 keyed with its ENCRYPTION_SECRET."""
    return hmac.new(encryption_secret.encode("utf-8"), api_key.encode("utf-8"), hashlib.sha256).hexdigest()


def scope_path(request_path: str) -> str:
    """The path DevLake matches ``allowed_path`` against: without the UI proxy's /api, without /rest."""
    path = request_path.removeprefix("/api")
    return path.removeprefix("/rest") if path.startswith("/rest/") else path


def _has(conn: Connection, table: str) -> bool:
    return sa.inspect(conn).has_table(table)


def _connection_of(extra: str | None, name: str | None) -> int | None:
    for pattern, text in ((_CONNECTION_IN_EXTRA, extra), (_CONNECTION_IN_NAME, name)):
        found = pattern.search(text or "")
        if found:
            return int(found.group(1))
    return None


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern or "")
    except re.error:
        return None


def load_devlake_keys(conn: Connection) -> dict[str, DevLakeKey]:
    """Stored hash -> key, for every DevLake API key; empty when DevLake's table is not there."""
    if not _has(conn, DEVLAKE_KEYS):
        return {}
    rows = conn.execute(
        sa.text(f"SELECT api_key, allowed_path, expired_at, extra, name FROM {DEVLAKE_KEYS}")
    )
    return {
        str(row.api_key).lower(): DevLakeKey(
            _connection_of(row.extra, row.name), _compile(row.allowed_path), row.expired_at
        )
        for row in rows
        if row.api_key
    }


def devlake_connection_ids(conn: Connection) -> set[int]:
    """DevLake's developer-telemetry connection ids; empty when DevLake's table is not there."""
    if not _has(conn, DEVLAKE_CONNECTIONS):
        return set()
    return {int(row[0]) for row in conn.execute(sa.text(f"SELECT id FROM {DEVLAKE_CONNECTIONS}"))}
