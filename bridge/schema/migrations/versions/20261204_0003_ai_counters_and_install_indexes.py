"""Claude Code's commit, pull-request and active-time counters; two indexes for forget and prune.

- ``_tool_developer_ai_metrics`` gains ``commits``, ``pull_requests`` and ``active_s`` (0 for the
  rows already there: no tool reported them before).
- ``_devtel_install_days(connection_id, install_id)``: forget asks which of a developer's installs
  another developer also used; without it that question reads every install-day.
- ``_devtel_installs(last_seen_at, updated_at)``: prune retires installs unheard of for the
  period by this pair; without it that reads every install.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

AI_COUNTERS = ("commits", "pull_requests", "active_s")


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("_tool_developer_ai_metrics")}
    for name in AI_COUNTERS:
        if name not in present:
            op.add_column(
                "_tool_developer_ai_metrics",
                sa.Column(name, sa.Double(), nullable=False, server_default="0"),
            )
    op.create_index(
        "idx__devtel_install_days_install", "_devtel_install_days", ["connection_id", "install_id"]
    )
    op.create_index("idx__devtel_installs_last_seen", "_devtel_installs", ["last_seen_at", "updated_at"])
