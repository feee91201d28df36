"""Alembic migrations of devtel's own tables (never DevLake's ``_tool_developer_metrics``)."""
