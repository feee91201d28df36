"""Key columns of devtel's own tables compare byte for byte (see bridge/schema/tables.py, KeyText).

Release 4ecc936 created them with the server's default collation, often case-insensitive, so
``Sarah.Johnson`` and ``sarah.johnson`` were one key. A binary collation only ever tells more
keys apart, so no existing row can collide. SQLite compares bytes already: nothing to do there.
DevLake's ``_tool_developer_metrics`` is not touched.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> (column, length, nullable) of every key column
_KEY_COLUMNS = {
    "_devtel_connections": [("name", 255, False)],
    "_devtel_install_days": [("developer_id", 255, False), ("install_id", 255, False)],
    "_tool_developer_command_stats": [
        ("developer_id", 255, False),
        ("repository", 255, False),
        ("category", 32, False),
        ("tool", 64, False),
        ("outcome", 16, False),
    ],
    "_devtel_installs": [("install_id", 255, False)],
    "_tool_developer_ai_metrics": [
        ("developer_id", 255, False),
        ("tool", 64, False),
        ("language", 64, False),
        ("feature", 32, False),
    ],
    "_devtel_ai_points": [("stream", 64, False), ("developer_id", 255, False)],
    "_devtel_settings": [("name", 64, False)],
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "mysql":
        return
    collation = "utf8mb4_nopad_bin" if getattr(bind.dialect, "is_mariadb", False) else "utf8mb4_0900_bin"
    for table, columns in _KEY_COLUMNS.items():
        changes = ", ".join(
            f"MODIFY `{name}` VARCHAR({length}) CHARACTER SET utf8mb4 COLLATE {collation}"
            + ("" if nullable else " NOT NULL")
            for name, length, nullable in columns
        )
        op.execute(f"ALTER TABLE `{table}` {changes}")
