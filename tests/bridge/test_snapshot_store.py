"""The install-day store on real SQLite and MariaDB: forward-only fields, silent replays, the
fold of the old per-field table."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from bridge.mapping.snapshots import ACTIVE, COMMAND_STATS, FROM_METRICS, FROM_SUMMARY, TOOLS, FieldSnapshot
from bridge.schema.fold_snapshots import LEGACY_SNAPSHOTS, fold_legacy_snapshots
from bridge.schema.migrate import ensure_schema
from bridge.schema.tables import command_stats, developer_metrics, install_days
from bridge.store.database import make_engine
from bridge.store.snapshot_store import store_snapshots_in
from bridge.store.upsert import run_in_transaction

DAY = dt.date(2026, 3, 4)
STATS = [
    {
        "repository": "api",
        "category": "test",
        "tool": "pytest",
        "outcome": "success",
        "count": 3,
        "total_duration_s": 9.0,
        "p50_duration_s": 3.0,
        "p95_duration_s": 4.0,
        "cpu_time_s": 6.0,
        "wall_time_s": 9.0,
    }
]


def snap(field: str, observed_at: int, value: object, install: str = "laptop", source: str = FROM_METRICS):
    return FieldSnapshot(1, "sarah", DAY, install, field, source, observed_at, value)


def store(engine: sa.Engine, *snapshots: FieldSnapshot) -> int:
    return run_in_transaction(engine, lambda conn: store_snapshots_in(conn, list(snapshots)))


def row(engine: sa.Engine) -> sa.Row:
    with engine.connect() as conn:
        return conn.execute(sa.select(developer_metrics)).one()


def test_a_field_moves_only_forward_and_a_replay_writes_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    newer = snap(ACTIVE, 200, {"active_hours": 6})
    assert store(engine, newer) == 1
    assert store(engine, snap(ACTIVE, 100, {"active_hours": 2})) == 0  # late and older
    first = row(engine)
    assert first.active_hours == 6
    assert store(engine, newer) == 0  # a replay
    assert row(engine).updated_at == first.updated_at
    assert store(engine, snap(ACTIVE, 300, {"active_hours": 7})) == 1
    assert row(engine).active_hours == 7


def test_within_one_batch_the_newest_wins_whatever_the_order(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    store(engine, snap(ACTIVE, 300, {"active_hours": 8}), snap(ACTIVE, 100, {"active_hours": 1}))
    assert row(engine).active_hours == 8


def test_command_stats_are_rewritten_only_when_they_change(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    store(engine, snap(COMMAND_STATS, 100, STATS, source=FROM_SUMMARY))
    with engine.connect() as conn:
        written = conn.execute(sa.select(command_stats.c.updated_at, command_stats.c.count)).one()
    store(engine, snap(ACTIVE, 200, {"active_hours": 3}))  # another field of the same day
    with engine.connect() as conn:
        assert conn.execute(sa.select(command_stats.c.updated_at, command_stats.c.count)).one() == written
    assert written.count == 3


def _legacy_table(engine: sa.Engine) -> None:
    """The per-field table as receivers before the install-day store made it."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE {LEGACY_SNAPSHOTS} (connection_id BIGINT, developer_id VARCHAR(255),"
            " date DATE, install_id VARCHAR(255), field VARCHAR(64), observed_at BIGINT, value TEXT,"
            " updated_at DATETIME, PRIMARY KEY (connection_id, developer_id, date, install_id, field))"
        )


def test_the_old_per_field_table_is_folded_in_and_dropped(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    store(engine, snap(ACTIVE, 500, {"active_hours": 9}, install="desktop"))  # already upgraded data
    _legacy_table(engine)
    with engine.begin() as conn:
        old = [
            ("laptop", f"{ACTIVE}@{FROM_SUMMARY}", 100, {"active_clock_hours": [9, 10], "active_hours": 2}),
            ("desktop", f"{ACTIVE}@{FROM_METRICS}", 50, {"active_hours": 1}),  # older than the new table's
        ]
        for install, field, observed_at, value in old:
            conn.execute(
                sa.text(
                    f"INSERT INTO {LEGACY_SNAPSHOTS} VALUES"
                    " (1, 'sarah', :date, :install, :field, :at, :value, '2026-03-04 12:00:00')"
                ),
                {
                    "date": DAY,
                    "install": install,
                    "field": field,
                    "at": observed_at,
                    "value": json.dumps(value),
                },
            )
    with engine.begin() as conn:
        fold_legacy_snapshots(conn)
    assert not sa.inspect(engine).has_table(LEGACY_SNAPSHOTS)
    with engine.connect() as conn:
        stored = {r.install_id: json.loads(r.fields) for r in conn.execute(sa.select(install_days))}
    assert stored["desktop"][f"{ACTIVE}@{FROM_METRICS}"] == [500, {"active_hours": 9}]
    assert stored["laptop"][f"{ACTIVE}@{FROM_SUMMARY}"][0] == 100
    assert row(engine).active_hours == 9  # two hours unioned with a count of nine: at least nine
    with engine.begin() as conn:
        assert fold_legacy_snapshots(conn) == 0  # nothing left to fold
    assert row(engine).active_hours == 9


def test_a_large_old_table_is_folded_a_page_of_days_at_a_time(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    _legacy_table(engine)
    days = [DAY + dt.timedelta(days=n) for n in range(3)]
    with engine.begin() as conn:
        for n, date in enumerate(days):
            for field, value in ((ACTIVE, {"active_hours": n + 1}), (TOOLS, ["vim", f"tool{n}"])):
                conn.execute(
                    sa.text(
                        f"INSERT INTO {LEGACY_SNAPSHOTS} VALUES (1, 'sarah', :date, 'laptop', :field, 10,"
                        " :value, '2026-03-04 12:00:00')"
                    ),
                    {"date": date, "field": f"{field}@{FROM_METRICS}", "value": json.dumps(value)},
                )
    with engine.begin() as conn:
        assert fold_legacy_snapshots(conn, chunk_days=1) == 6
    with engine.connect() as conn:
        rows = conn.execute(sa.select(developer_metrics).order_by(developer_metrics.c.date)).all()
    assert [(r.active_hours, r.tools_used) for r in rows] == [
        (n + 1, ["tool" + str(n), "vim"]) for n in range(3)
    ]
    assert not sa.inspect(engine).has_table(LEGACY_SNAPSHOTS)
