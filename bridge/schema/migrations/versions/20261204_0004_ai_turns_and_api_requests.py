"""Codex's turns and model API requests: two more counters on ``_tool_developer_ai_metrics``.

The rows already there get 0: no tool's turns or requests were stored before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COUNTERS = ("turns", "api_requests")


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("_tool_developer_ai_metrics")}
    for name in COUNTERS:
        if name not in present:
            op.add_column(
                "_tool_developer_ai_metrics",
                sa.Column(name, sa.Double(), nullable=False, server_default="0"),
            )
