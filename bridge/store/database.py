"""Engines for the supported databases, and which of their failures mean "try again later"."""

from __future__ import annotations

import os
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

DB_URL_ENV = "DEVTEL_DB_URL"

# MySQL error numbers that a retry of the same transaction can cure.
_MYSQL_RETRYABLE = {1205, 1213}  # lock wait timeout, deadlock
# MySQL/MariaDB error numbers that mean "this value cannot be stored": the sender's data, not the
# server's health. PyMySQL raises most of them as OperationalError, the class of an outage too.
_MYSQL_REFUSED_VALUE = {
    1048,  # column cannot be null
    1264,  # out of range value for column
    1265,  # data truncated for column
    1292,  # incorrect date/time/number value
    1300,  # invalid character string
    1366,  # incorrect string value (a character the column's character set cannot hold)
    1367,  # illegal double value
    1406,  # data too long for column
    1411,  # incorrect value for function
    1441,  # datetime function field overflow
    1690,  # value out of range
    3140,  # invalid JSON text (MySQL)
    3146,  # invalid data type for JSON data (MySQL)
    3157,  # JSON document exceeds the maximum depth (MySQL)
    4025,  # CHECK constraint failed (MariaDB's JSON_VALID on a JSON column)
    4038,  # syntax error in JSON text (MariaDB)
}
_SQLITE_REFUSED_VALUE = ("string or blob too big", "constraint failed", "too large", "malformed JSON")
# The column a MySQL message names: `db`.`table`.`column` (MariaDB), 'column' (MySQL), or the
# CHECK constraint MariaDB names after the column it guards (`table.column`).
_COLUMN = re.compile(r"for column [`'](?:[^`']*[`']\.[`'])*([^`']+)[`']|CONSTRAINT `(?:[^`.]*\.)?([^`]+)`")


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


# Go driver options DevLake's own DB_URL carries (mysql://…?charset=utf8mb4&parseTime=True&loc=Local):
# the Go driver's, meaningless to PyMySQL, which would refuse them as unknown arguments.
_GO_DSN_OPTIONS = ("parseTime", "loc")


def parse_url(url: str) -> sa.engine.URL:
    """A SQLAlchemy URL, accepting what DevLake users paste: ``mysql://`` (PyMySQL is the driver
    installed) and DevLake's Go options. A malformed URL is a ValueError naming it."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        # The URL itself stays out of the message: it may hold a password.
        raise ValueError(
            "cannot read the database URL: expected sqlite:///PATH or mysql://USER:PASSWORD@HOST:3306/DB"
        ) from None
    if parsed.drivername == "mysql":
        parsed = parsed.set(drivername="mysql+pymysql")
    if parsed.get_backend_name() == "mysql" and any(k in parsed.query for k in _GO_DSN_OPTIONS):
        parsed = parsed.difference_update_query(_GO_DSN_OPTIONS)
    return parsed


# PyMySQL quotes a string by mapping every character through a table (``str.translate``): one
# C call that holds the interpreter lock for about 10 ms per 600 KB of JSON, while a day of
# thousands of repositories is written, so /healthz and every other request on the event loop
# waited behind it. With NO_BACKSLASH_ESCAPES in the session's sql_mode, PyMySQL (and
# SQLAlchemy, which reads the mode when it connects) quote by doubling single quotes only, which
# is exact in that mode and about thirty times faster. The rest of the server's sql_mode is kept.
_NO_BACKSLASH_ESCAPES = (
    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'NO_BACKSLASH_ESCAPES')"
)


def make_engine(url: str, *, pool_size: int = 8) -> Engine:
    """An engine tuned for the receiver: fail fast when the server is down, recover when it is back."""
    parsed = parse_url(url)
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
            connect_args={
                "connect_timeout": 5,
                "read_timeout": 30,
                "write_timeout": 30,
                "init_command": _NO_BACKSLASH_ESCAPES,
            },
        )
    raise ValueError(f"unsupported database {backend!r} in {parsed.render_as_string()}: use sqlite or mysql")


def is_unavailable(exc: BaseException) -> bool:
    """True for failures of the database itself (down, unreachable, locked), not of the data."""
    if refused_column(exc) is not None:
        return False
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) or (
        isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    )


def refused_column(exc: BaseException) -> str | None:
    """For an error caused by a value the database cannot store, the column it names ("" if none);
    None for any other failure. Such an error is the sender's, answered 400, never 503."""
    if not isinstance(exc, sa.exc.DBAPIError) or exc.connection_invalidated:
        return None
    orig = exc.orig
    args = getattr(orig, "args", ())
    message = str(args[1] if len(args) > 1 else orig)
    if args and isinstance(args[0], int):
        if args[0] not in _MYSQL_REFUSED_VALUE:
            return None
    elif not any(text in message for text in _SQLITE_REFUSED_VALUE):
        return None
    found = _COLUMN.search(message)
    return (found.group(1) or found.group(2)) if found else ""


def is_retryable_conflict(exc: BaseException) -> bool:
    """A deadlock or lock timeout: the same transaction may simply be run again."""
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in _MYSQL_RETRYABLE
