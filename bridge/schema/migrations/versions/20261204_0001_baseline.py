"""Baseline: devtel's own tables as release 4ecc936 had them; folds the older per-field table.

Each table is created only when missing, so this runs unchanged on an empty database, on one
that release 4ecc936 (or an earlier one) made without migrations, and on DevLake's database.
Definitions are frozen here, not imported: later changes belong in later revisions.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_INNODB = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql")


def _tables() -> dict[str, list[sa.Column | sa.Index]]:
    def ts(name: str, nullable: bool = True) -> sa.Column:
        return sa.Column(name, _timestamp(), nullable=nullable)

    def key(name: str, length: int) -> sa.Column:
        return sa.Column(name, sa.String(length), primary_key=True)

    def connection() -> sa.Column:
        return sa.Column("connection_id", sa.BigInteger(), primary_key=True, autoincrement=False)

    day = [connection(), key("developer_id", 255), sa.Column("date", sa.Date(), primary_key=True)]
    return {
        "_devtel_connections": [
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
            sa.Column("name", sa.String(255), nullable=False, unique=True),
            sa.Column("api_key_hash", sa.String(64), nullable=False, unique=True),
            ts("created_at", False),
            ts("updated_at", False),
        ],
        "_devtel_install_days": [
            *day,
            key("install_id", 255),
            sa.Column("fields", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql"), nullable=False),
            ts("updated_at", False),
        ],
        "_tool_developer_command_stats": [
            *day,
            key("repository", 255),
            key("category", 32),
            key("tool", 64),
            key("outcome", 16),
            sa.Column("count", sa.BigInteger(), nullable=False),
            *(
                sa.Column(name, sa.Float(), nullable=False)
                for name in (
                    "total_duration_s",
                    "p50_duration_s",
                    "p95_duration_s",
                    "cpu_time_s",
                    "wall_time_s",
                )
            ),
            ts("updated_at", False),
        ],
        "_devtel_installs": [
            connection(),
            key("install_id", 255),
            *(
                sa.Column(name, sa.String(255))
                for name in (
                    "app_version",
                    "platform",
                    "os_version",
                    "architecture",
                    "locale",
                    "timezone",
                    "release_channel",
                    "deployment_type",
                )
            ),
            ts("first_seen_at"),
            ts("last_seen_at"),
            ts("heartbeat_at"),
            ts("updated_at", False),
        ],
        "_tool_developer_ai_metrics": [
            *day,
            key("tool", 64),
            key("language", 64),
            key("feature", 32),
            *(
                sa.Column(name, sa.Double(), nullable=False)
                for name in (
                    "suggestions_shown",
                    "suggestions_accepted",
                    "lines_added",
                    "lines_removed",
                    "sessions",
                    "tokens",
                    "cost_usd",
                    "wait_s",
                    "time_saved_s",
                )
            ),
            ts("updated_at", False),
        ],
        "_devtel_ai_points": [
            connection(),
            key("stream", 64),
            sa.Column("start_ns", sa.BigInteger(), primary_key=True, autoincrement=False),
            sa.Column("time_ns", sa.BigInteger(), nullable=False),
            sa.Column("value", sa.Double(), nullable=False),
            sa.Column("developer_id", sa.String(255), nullable=False),
            sa.Column("date", sa.Date(), nullable=False),
            ts("updated_at", False),
            sa.Index("idx__devtel_ai_points_developer", "connection_id", "developer_id"),
        ],
        "_devtel_settings": [key("name", 64), sa.Column("value", sa.String(255), nullable=False)],
    }


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns in _tables().items():
        if name not in existing:
            op.create_table(name, *columns, **_INNODB)
    # Imported here: the fold writes through the snapshot store, which the tables above serve.
    from bridge.schema.fold_snapshots import fold_legacy_snapshots

    fold_legacy_snapshots(op.get_bind())
