"""Deletion on request and retention, over every table the receiver writes.

``forget`` removes one developer of one connection everywhere: the DevLake row, the per-install
snapshots it is rebuilt from, the command statistics, the AI rows and the AI stream state, and the
base-telemetry rows of installs only that developer used. ``prune`` removes what is older than a
cutoff: by default only the AI tables (90 days, as the seed promises), with ``older_than_days``
every table. Each runs in one transaction, so a failure leaves everything as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bridge.errors import InvalidReport
from bridge.schema.migrate import ensure_schema
from bridge.schema.tables import (
    VARCHAR_MAX_CHARS,
    ai_metrics,
    ai_points,
    command_stats,
    developer_metrics,
    install_days,
    installs,
)
from bridge.store.upsert import run_in_transaction

DEFAULT_AI_RETENTION_DAYS = 90
MAX_DAYS = 36_500  # a century: anything longer is a typo
# Every table keyed by developer and date; installs are handled apart (no developer, no date).
DATED_TABLES = (developer_metrics, install_days, command_stats, ai_metrics, ai_points)
AI_TABLES = (ai_metrics, ai_points)


@dataclass(frozen=True, slots=True)
class Removed:
    """Rows deleted per table, for the command's report."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def check_days(days: int, option: str) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidReport(option, f"must be a whole number of days from 1 to {MAX_DAYS}, got {days!r}")
    return days


def _check_developer(developer: str) -> str:
    if not developer.strip():
        raise InvalidReport("--developer", "must not be empty")
    if len(developer) > VARCHAR_MAX_CHARS:
        raise InvalidReport(
            "--developer", f"is {len(developer)} characters long; at most {VARCHAR_MAX_CHARS}"
        )
    return developer


def _only_theirs(conn: Connection, connection_id: int, developer: str) -> list[str]:
    """The installs whose snapshots belong to this developer and nobody else."""
    s = install_days
    theirs = set(
        conn.execute(
            sa.select(s.c.install_id).where(s.c.connection_id == connection_id, s.c.developer_id == developer)
        ).scalars()
    )
    if not theirs:
        return []
    # A list, not a subquery: MariaDB would scan the subquery's result instead of using the index.
    shared = sa.select(s.c.install_id).where(
        s.c.connection_id == connection_id, s.c.install_id.in_(sorted(theirs)), s.c.developer_id != developer
    )
    return sorted(theirs - set(conn.execute(shared).scalars()))


def _identities(conn: Connection, connection_id: int, developer: str) -> list[str]:
    """Every id the person's rows may be stored under: the one given, the emails their day rows
    carry, and the developer ids whose day rows carry it as email. AI tools name a person by email
    (or by account id, which is then what an operator passes as ``--developer``)."""
    t = developer_metrics
    mine = t.c.connection_id == connection_id
    emails = conn.execute(
        sa.select(t.c.email).distinct().where(mine, t.c.developer_id == developer, t.c.email.is_not(None))
    ).scalars()
    ids = conn.execute(sa.select(t.c.developer_id).distinct().where(mine, t.c.email == developer)).scalars()
    return sorted({developer, *emails, *ids} - {""})


def forget(engine: Engine, connection_id: int, developer: str) -> Removed:
    """Delete every row of ``developer`` on ``connection_id``; a developer with no rows is no error."""
    developer = _check_developer(developer)
    ensure_schema(engine)

    def work(conn: Connection) -> Removed:
        counts: dict[str, int] = {}
        install_ids = _only_theirs(conn, connection_id, developer)
        counts[installs.name] = (
            conn.execute(
                installs.delete().where(
                    installs.c.connection_id == connection_id, installs.c.install_id.in_(install_ids)
                )
            ).rowcount
            if install_ids
            else 0
        )
        identities = _identities(conn, connection_id, developer)
        for table in DATED_TABLES:
            deleted = conn.execute(
                table.delete().where(
                    table.c.connection_id == connection_id, table.c.developer_id.in_(identities)
                )
            )
            counts[table.name] = deleted.rowcount
        return Removed(counts)

    return run_in_transaction(engine, work)


def _prune_statements(table: sa.Table) -> tuple[sa.Select[Any], sa.Delete]:
    """The table's developers, and one developer's days before a cutoff: both on an index.

    No table has an index on the date alone (DevLake's is not ours to alter), so ``date < cutoff``
    over the table reads every row. The developers come from a loose scan of the key prefix
    (``connection_id, developer_id``), and each developer's old days are one range of the key.
    """
    c = table.c
    developers = sa.select(c.connection_id, c.developer_id).distinct()
    old_days = table.delete().where(
        c.connection_id == sa.bindparam("connection_id"),
        c.developer_id == sa.bindparam("developer_id"),
        c.date < sa.bindparam("before"),
    )
    return developers, old_days


_PRUNE = {table.name: _prune_statements(table) for table in DATED_TABLES}  # built once


def _prune_table(conn: Connection, table: sa.Table, before: dt.date) -> int:
    developers, old_days = _PRUNE[table.name]
    deleted = 0
    for connection_id, developer_id in conn.execute(developers).all():
        params = {"connection_id": connection_id, "developer_id": developer_id, "before": before}
        deleted += conn.execute(old_days, params).rowcount
    return deleted


def prune(
    engine: Engine,
    *,
    older_than_days: int | None = None,
    ai_older_than_days: int = DEFAULT_AI_RETENTION_DAYS,
    today: dt.date | None = None,
) -> Removed:
    """Delete rows dated before the cutoffs: every table with ``older_than_days``, the AI tables always."""
    ai_days = check_days(ai_older_than_days, "--ai-older-than")
    all_days = None if older_than_days is None else check_days(older_than_days, "--older-than")
    today = today or dt.datetime.now(dt.UTC).date()
    ensure_schema(engine)

    def cutoff(table: sa.Table) -> dt.date | None:
        days = [d for d in (all_days, ai_days if table in AI_TABLES else None) if d is not None]
        return today - dt.timedelta(days=min(days)) if days else None

    def work(conn: Connection) -> Removed:
        counts: dict[str, int] = {}
        for table in DATED_TABLES:
            before = cutoff(table)
            counts[table.name] = _prune_table(conn, table, before) if before else 0
        if all_days is not None:
            # An install unheard of for the whole period is retired with its base telemetry.
            stale = dt.datetime.combine(today - dt.timedelta(days=all_days), dt.time())
            counts[installs.name] = conn.execute(
                installs.delete().where(
                    # Two ranges of idx__devtel_installs_last_seen, not a scan of every install.
                    sa.or_(
                        installs.c.last_seen_at < stale,
                        sa.and_(installs.c.last_seen_at.is_(None), installs.c.updated_at < stale),
                    )
                )
            ).rowcount
        else:
            counts[installs.name] = 0
        return Removed(counts)

    return run_in_transaction(engine, work)
