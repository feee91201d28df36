"""Alembic's entry point: always run on a connection bridge/schema/migrate.py hands over."""

from alembic import context

from bridge.schema.migrate import VERSION_TABLE

context.configure(connection=context.config.attributes["connection"], version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
