"""The tables: DevLake's ``_tool_developer_metrics`` exactly as its migration makes it, and devtel's own.

The JSON columns are JSON where devtel creates the table and TEXT where DevLake did; both
hold the same serialized text, so one table definition writes into either unchanged.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator, UserDefinedType

# The smallest JSON column we write into is DevLake's MySQL TEXT.
JSON_COLUMN_MAX_BYTES = 65_535
VARCHAR_MAX_CHARS = 255


class _JsonColumnDDL(UserDefinedType[Any]):
    """Only a DDL spelling: JSON on MySQL/MariaDB, TEXT elsewhere; values pass through untouched."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "JSON"


class JsonDocument(TypeDecorator[Any]):
    """A JSON value stored as text; SQL NULL for None (DevLake's dashboards read that as absent)."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            return dialect.type_descriptor(_JsonColumnDDL())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return dump_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(value)


def dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


class KeyText(TypeDecorator[str]):
    """A key column that compares byte for byte: case and trailing spaces count.

    DevLake's MySQL runs with utf8mb4_bin, so ``Sarah.Johnson`` and ``sarah.johnson`` are two
    developers; a server whose default collation ignores case would make them one row that
    flips between them. devtel goes one step further with a NO PAD binary collation
    (utf8mb4_bin pads, so ``sarah`` and ``sarah `` would still collide): MariaDB's
    utf8mb4_nopad_bin, MySQL 8's utf8mb4_0900_bin. SQLite's default BINARY collation already
    compares bytes.
    """

    impl = sa.String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            collation = "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_0900_bin"
            return dialect.type_descriptor(mysql.VARCHAR(self.impl.length, collation=collation))
        return dialect.type_descriptor(sa.String(self.impl.length))


def _timestamp() -> sa.types.TypeEngine[Any]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql")


def _bigint_id() -> sa.types.TypeEngine[Any]:
    # SQLite only makes INTEGER PRIMARY KEY an alias of rowid, so spell it that way there.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


metadata = sa.MetaData()

developer_metrics = sa.Table(
    "_tool_developer_metrics",
    metadata,
    sa.Column("connection_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("developer_id", KeyText(255), primary_key=True),
    sa.Column("date", sa.Date(), primary_key=True),
    sa.Column("email", sa.String(255)),
    sa.Column("name", sa.String(255)),
    sa.Column("hostname", sa.String(255)),
    sa.Column("active_hours", sa.BigInteger()),
    sa.Column("git_activity", JsonDocument()),
    sa.Column("development_activity", JsonDocument()),
    sa.Column("tools_used", JsonDocument()),
    sa.Column("project_context", JsonDocument()),
    sa.Column("os_info", sa.String(255)),
    sa.Column("created_at", _timestamp()),
    sa.Column("updated_at", _timestamp()),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)
sa.Index("idx__tool_developer_metrics_email", developer_metrics.c.email)

connections = sa.Table(
    "_devtel_connections",
    metadata,
    sa.Column("id", _bigint_id(), primary_key=True, autoincrement=True),
    sa.Column("name", KeyText(255), nullable=False, unique=True),
    # HMAC-SHA256 of the API key under the receiver's secret; the key itself is never stored.
    sa.Column("api_key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", _timestamp(), nullable=False),
    sa.Column("updated_at", _timestamp(), nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# devtel's own: each install's newest view of a day, one row per install-day, from which the
# DevLake row is rebuilt (see bridge/mapping/snapshots.py). ``fields`` is a JSON object
# {"<field>@<source>": [observed_at Unix ns, value]}: one row to lock, read and write per
# install-day keeps the write path at a few statements and values per request.
install_days = sa.Table(
    "_devtel_install_days",
    metadata,
    sa.Column("connection_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("developer_id", KeyText(255), primary_key=True),
    sa.Column("date", sa.Date(), primary_key=True),
    sa.Column("install_id", KeyText(255), primary_key=True),
    sa.Column("fields", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql"), nullable=False),
    sa.Column("updated_at", _timestamp(), nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# devtel's own: where a developer's command time goes, per day (issue E), read by InnerLoop.json.
command_stats = sa.Table(
    "_tool_developer_command_stats",
    metadata,
    sa.Column("connection_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("developer_id", KeyText(255), primary_key=True),
    sa.Column("date", sa.Date(), primary_key=True),
    sa.Column("repository", KeyText(255), primary_key=True),  # "" when outside a repository
    sa.Column("category", KeyText(32), primary_key=True),
    sa.Column("tool", KeyText(64), primary_key=True),
    sa.Column("outcome", KeyText(16), primary_key=True),
    sa.Column("count", sa.BigInteger(), nullable=False),
    sa.Column("total_duration_s", sa.Float(), nullable=False),
    sa.Column("p50_duration_s", sa.Float(), nullable=False),
    sa.Column("p95_duration_s", sa.Float(), nullable=False),
    sa.Column("cpu_time_s", sa.Float(), nullable=False),
    sa.Column("wall_time_s", sa.Float(), nullable=False),
    sa.Column("updated_at", _timestamp(), nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# devtel's own: the fleet of installs, from the base-telemetry events (first_seen, heartbeat).
# What an install says of itself in its base telemetry (seed 004's fixed schema), newest wins.
INSTALL_DESCRIPTIVE = (
    "app_version",
    "platform",
    "os_version",
    "architecture",
    "locale",
    "timezone",
    "release_channel",
    "deployment_type",
)
installs = sa.Table(
    "_devtel_installs",
    metadata,
    sa.Column("connection_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("install_id", KeyText(255), primary_key=True),
    *(sa.Column(name, sa.String(255)) for name in INSTALL_DESCRIPTIVE),
    sa.Column("first_seen_at", _timestamp()),
    sa.Column("last_seen_at", _timestamp()),
    sa.Column("heartbeat_at", _timestamp()),
    sa.Column("updated_at", _timestamp(), nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# What an AI point can carry, summed per developer, day, tool, language and feature.
AI_MEASURES = (
    "suggestions_shown",
    "suggestions_accepted",
    "lines_added",
    "lines_removed",
    "sessions",
    "tokens",
    "cost_usd",
    "wait_s",
    # Claude Code's own counters: AI-assisted commits and pull requests, seconds of active use.
    "commits",
    "pull_requests",
    "active_s",
    # Codex's own counters: turns the agent ran and requests it made to the model API (revision 0004).
    "turns",
    "api_requests",
)

# devtel's own: AI assistant use per developer, day, tool, language and feature (issue 6), fed by
# Claude Code's, Gemini CLI's and devtel's own OTLP metrics (see bridge/mapping/ai_mapping.py).
ai_metrics = sa.Table(
    "_tool_developer_ai_metrics",
    metadata,
    sa.Column("connection_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("developer_id", KeyText(255), primary_key=True),
    sa.Column("date", sa.Date(), primary_key=True),
    sa.Column("tool", KeyText(64), primary_key=True),
    sa.Column("language", KeyText(64), primary_key=True),  # "unknown" when the tool does not say
    sa.Column("feature", KeyText(32), primary_key=True),
    *(
        sa.Column(name, sa.Double(), nullable=False, default=0.0)
        # time_saved_s is computed here from lines_added and wait_s, never taken from a client
        for name in (*AI_MEASURES, "time_saved_s")
    ),
    sa.Column("updated_at", _timestamp(), nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# devtel's own: the last point seen of every AI metric stream, so a replayed delta point adds
# nothing and a cumulative point adds only its increase (bridge/store/ai_store.py).
ai_points = sa.Table(
    "_devtel_ai_points",
    metadata,
    sa.Column("connection_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("stream", KeyText(64), primary_key=True),  # sha256 of name, resource and attributes
    sa.Column("start_ns", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("time_ns", sa.BigInteger(), nullable=False),
    sa.Column("value", sa.Double(), nullable=False),
    sa.Column("developer_id", KeyText(255), nullable=False),
    sa.Column("date", sa.Date(), nullable=False),
    sa.Column("updated_at", _timestamp(), nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)
sa.Index("idx__devtel_ai_points_developer", ai_points.c.connection_id, ai_points.c.developer_id)
# forget: which of a developer's installs someone else used too (revision 0003)
sa.Index("idx__devtel_install_days_install", install_days.c.connection_id, install_days.c.install_id)
# prune: installs unheard of for the period (revision 0003)
sa.Index("idx__devtel_installs_last_seen", installs.c.last_seen_at, installs.c.updated_at)

settings = sa.Table(
    "_devtel_settings",
    metadata,
    sa.Column("name", KeyText(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

KEY_SECRET_SETTING = "api_key_hmac_secret"


def ensure_key_secret(conn: Connection) -> None:
    """The receiver's random HMAC secret for devtel's API keys, made once per database."""
    found = conn.execute(
        sa.select(settings.c.value).where(settings.c.name == KEY_SECRET_SETTING)
    ).scalar_one_or_none()
    if found is None:
        insert = settings.insert().values(name=KEY_SECRET_SETTING, value=secrets.token_hex(32))
        try:
            with conn.begin_nested():
                conn.execute(insert)
        except sa.exc.IntegrityError:
            pass  # another replica created it first; both now read the same one


def key_secret(conn: Connection) -> bytes:
    value = conn.execute(
        sa.select(settings.c.value).where(settings.c.name == KEY_SECRET_SETTING)
    ).scalar_one()
    return bytes.fromhex(value)
