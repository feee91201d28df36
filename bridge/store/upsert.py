"""Idempotent batched upserts of developer days: one statement and one transaction per batch."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection, Engine

from bridge.errors import InvalidReport, StorageUnavailable
from bridge.mapping.dates import utc_now
from bridge.mapping.day import DeveloperDay
from bridge.schema.tables import developer_metrics
from bridge.store.database import is_retryable_conflict, is_unavailable, refused_column

T = TypeVar("T")
BATCH_SIZE = 500
_CONFLICT_RETRIES = 5
VALUE_COLUMNS = (  # DevLake's value columns, in its order
    "email",
    "name",
    "hostname",
    "os_info",
    "active_hours",
    "git_activity",
    "development_activity",
    "tools_used",
    "project_context",
)


def _row(day: DeveloperDay, now: dt.datetime) -> dict[str, Any]:
    row = {column: getattr(day, column) for column in VALUE_COLUMNS}
    row.update(
        connection_id=day.connection_id,
        developer_id=day.developer_id,
        date=day.date,
        created_at=now,
        updated_at=now,
    )
    return row


def _upsert_statements() -> dict[str, Any]:
    """Last write wins for every value column; created_at is kept, updated_at moves."""
    table = developer_metrics
    updated = (*VALUE_COLUMNS, "updated_at")
    mine = mysql.insert(table)
    lite = sqlite.insert(table)
    return {
        "mysql": mine.on_duplicate_key_update({c: mine.inserted[c] for c in updated}),
        "sqlite": lite.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={c: lite.excluded[c] for c in updated},
        ),
    }


_UPSERT = _upsert_statements()  # built once: the write path only binds values


def for_dialect(statements: dict[str, T], dialect: str, what: str) -> T:
    """The statement built for ``dialect``; a clear error for a database devtel does not support."""
    try:
        return statements[dialect]
    except KeyError:
        raise ValueError(f"no {what} for the {dialect} dialect") from None


def last_write_per_key(days: Iterable[DeveloperDay]) -> list[DeveloperDay]:
    """Keep the last of each key, sorted by key: one row per key, locks always taken in one order."""
    latest: dict[tuple[int, str, dt.date], DeveloperDay] = {}
    for day in days:
        latest[day.key] = day
    return [latest[key] for key in sorted(latest)]


def upsert_days_in(conn: Connection, days: Sequence[DeveloperDay]) -> int:
    """Upsert inside the caller's transaction; returns the number of distinct rows written."""
    unique = last_write_per_key(days)
    if not unique:
        return 0
    now = utc_now()
    conn.execute(for_dialect(_UPSERT, conn.dialect.name, "upsert"), [_row(day, now) for day in unique])
    return len(unique)


def run_in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work(conn)`` in one transaction, retrying deadlocks; a down database is StorageUnavailable."""
    attempt = 0
    while True:
        try:
            with engine.begin() as conn:
                return work(conn)
        except sa.exc.DBAPIError as exc:
            attempt += 1
            if is_retryable_conflict(exc) and attempt < _CONFLICT_RETRIES:
                time.sleep(0.01 * 2**attempt)
                continue
            if is_unavailable(exc):
                raise StorageUnavailable(str(exc.orig)) from exc
            column = refused_column(exc)
            if column is not None:
                raise InvalidReport(column, f"the database refused the value: {exc.orig}") from exc
            raise


def upsert_days(engine: Engine, days: Sequence[DeveloperDay], *, batch_size: int = BATCH_SIZE) -> int:
    """Write days in batches of ``batch_size``, one transaction per batch."""
    written = 0
    for start in range(0, len(days), batch_size):
        batch = days[start : start + batch_size]
        written += run_in_transaction(engine, lambda conn, b=batch: upsert_days_in(conn, b))
    return written
