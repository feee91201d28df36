"""Engines for the supported databases, and which of their failures mean "try again later"."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

DB_URL_ENV = "DEVTEL_DB_URL"

# MySQL error numbers that a retry of the same transaction can cure.
_MYSQL_RETRYABLE = {1205, 1213}  # lock wait timeout, deadlock


def default_sqlite_path() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "devtel" / "receiver.db"


def resolve_url(url: str | None) -> str:
    """The --db argument, else DEVTEL_DB_URL, else the embedded SQLite file."""
    if url:
        return url
    if os.environ.get(DB_URL_ENV):
        return os.environ[DB_URL_ENV]
    return f"sqlite:///{default_sqlite_path()}"


def _on_sqlite_connect(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets readers (readiness, dashboards) run beside the writer; FULL keeps a
    # committed report on disk before the client hears 200.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 8) -> Engine:
    """An engine tuned for the receiver: fail fast when the server is down, recover when it is back."""
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    if backend == "mysql":
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        return sa.create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_recycle=3600,
            connect_args={"connect_timeout": 5, "read_timeout": 30, "write_timeout": 30},
        )
    raise ValueError(f"unsupported database {backend!r} in {parsed.render_as_string()}: use sqlite or mysql")


def is_unavailable(exc: BaseException) -> bool:
    """True for failures of the database itself (down, unreachable, locked), not of the data."""
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) or (
        isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    )


def is_retryable_conflict(exc: BaseException) -> bool:
    """A deadlock or lock timeout: the same transaction may simply be run again."""
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in _MYSQL_RETRYABLE
