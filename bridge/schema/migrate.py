"""Bringing a database to the schema this code expects, with Alembic, and saying where it stands.

devtel's own tables change only through the dated, append-only revisions in
bridge/schema/migrations/versions, recorded in ``_devtel_schema_version``. DevLake's
``_tool_developer_metrics`` is created when missing, exactly as bridge/schema/tables.py defines it, and
never altered. A fresh database is set up on first use; an older one is upgraded only when the
operator says so (``devtel-receiver db upgrade``, ``serve --upgrade-db``), since an upgrade may
take a while and older replicas may still be running; a newer one is refused, since this code
would not know its tables.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection, Engine

from bridge.errors import BridgeError
from bridge.schema.tables import developer_metrics, ensure_key_secret

VERSION_TABLE = "_devtel_schema_version"
# Alembic narrates each step at INFO, several lines per start; what changed is said once by its
# callers (`db upgrade` prints the revisions before and after), so a start stays one line or none.
logging.getLogger("alembic").setLevel(logging.WARNING)
_LOCK = "devtel_schema_migration"
_LOCK_WAIT_SECONDS = 600
# The tables of every devtel release: any of them without a version table means "made before
# migrations existed" (release 4ecc936 or earlier), not a fresh database.
OWN_TABLES = (
    "_devtel_connections",
    "_devtel_install_days",
    "_devtel_day_snapshots",
    "_tool_developer_command_stats",
    "_devtel_installs",
    "_tool_developer_ai_metrics",
    "_devtel_ai_points",
    "_devtel_settings",
)


class SchemaError(BridgeError):
    """The database's schema is not the one this code expects; the message says what to do."""


def _config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.attributes["connection"] = conn
    return config


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    head = _script().get_current_head()
    assert head is not None, "bridge/schema/migrations/versions holds no revision"
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def _known(revision: str) -> bool:
    try:
        return _script().get_revision(revision) is not None
    except CommandError:
        return False


def _made_before_migrations(conn: Connection) -> bool:
    existing = set(sa.inspect(conn).get_table_names())
    return any(table in existing for table in OWN_TABLES)


@contextmanager
def _migration_lock(conn: Connection) -> Iterator[None]:
    """On MySQL, one replica migrates while the others wait; SQLite's write lock does this there."""
    if conn.dialect.name != "mysql":
        yield
        return
    got = conn.execute(sa.text("SELECT GET_LOCK(:name, :wait)"), {"name": _LOCK, "wait": _LOCK_WAIT_SECONDS})
    if got.scalar() != 1:
        raise SchemaError(
            f"another process has been migrating the schema for {_LOCK_WAIT_SECONDS}s; try again"
        )
    try:
        yield
    finally:
        conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": _LOCK})


def metrics_key_warning(conn: Connection) -> str | None:
    """What to tell the operator when ``_tool_developer_metrics`` compares developer ids ignoring
    case (made under a case-insensitive server default, not by DevLake, whose server runs
    utf8mb4_bin): devtel never alters that table, so the operator decides."""
    if conn.dialect.name != "mysql":
        return None
    collation = conn.execute(
        sa.text(
            "SELECT collation_name FROM information_schema.columns WHERE table_schema = DATABASE()"
            " AND table_name = '_tool_developer_metrics' AND column_name = 'developer_id'"
        )
    ).scalar()
    if not collation or not collation.endswith("_ci"):
        return None
    return (
        f"_tool_developer_metrics.developer_id compares ignoring case ({collation}): Sarah.Johnson and"
        " sarah.johnson share one row there. devtel never alters this table; to tell them apart run"
        " ALTER TABLE _tool_developer_metrics MODIFY developer_id VARCHAR(255) CHARACTER SET utf8mb4"
        " COLLATE utf8mb4_bin NOT NULL"
    )


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Run every pending revision; returns the revision before and after."""
    with engine.begin() as conn, _migration_lock(conn):
        before = current_revision(conn)
        if before is not None and not _known(before):
            raise _too_new(before)
        developer_metrics.create(conn, checkfirst=True)  # DevLake's: created when missing, never altered
        command.upgrade(_config(conn), "head")
        ensure_key_secret(conn)
        return before, head_revision()


def _too_new(revision: str) -> SchemaError:
    return SchemaError(
        f"the database's schema is at revision {revision}, which this devtel does not know (it knows up"
        f" to {head_revision()}): a newer devtel migrated it. Run that newer devtel instead"
    )


def ensure_schema(engine: Engine, *, upgrade_older: bool = False) -> None:
    """The schema this code expects: made on a fresh database, upgraded when told, else refused."""
    with engine.connect() as conn:
        current = current_revision(conn)
        before_migrations = current is None and _made_before_migrations(conn)
    if current == head_revision():
        return
    if current is not None and not _known(current):
        raise _too_new(current)
    if (current is not None or before_migrations) and not upgrade_older:
        where = f"revision {current}" if current else "the schema of a release before migrations (4ecc936)"
        raise SchemaError(
            f"the database is at {where}; this devtel needs revision {head_revision()}. Run"
            " `devtel-receiver db upgrade` (or `serve --upgrade-db`) once, then start again"
        )
    upgrade(engine)
