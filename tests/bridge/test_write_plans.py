"""Every statement the write paths issue reads only the keys it writes, whatever the batch size.

The tables hold a few thousand developer-days first; then each write path runs for real (the
functions the receiver's writers call: OTLP metrics and day summaries, install sightings, AI
points, legacy reports; and forget and prune), with batches of one key and of several. Every
statement they sent to MariaDB is captured at the cursor and EXPLAINed with its own parameters.
A full table scan (``ALL``), a full index scan (``index``) or more rows examined than the keys
can hold fails: such a statement's cost grows with the table, as a single-tuple
``(a, b, c) IN ((…))`` DELETE's did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from sqlalchemy.engine import Connection, Engine

from bridge.fake.team import generate_days, generate_installs
from bridge.mapping.ai_mapping import CUMULATIVE, DELTA, AiPoint
from bridge.mapping.legacy import parse_report, to_flat_report
from bridge.schema.migrate import VERSION_TABLE, ensure_schema
from bridge.store.database import make_engine
from bridge.store.retention import forget, prune
from bridge.store.snapshot_store import store_otlp_in
from bridge.store.upsert import run_in_transaction, upsert_days_in
from otlp_receiver.fake import otlp_requests
from otlp_receiver.signals import LOGS, METRICS
from tests.support.fleet_fill import COMMAND_STATS_PER_DAY, fill_engine
from tests.support.otlp import DayFigures, developer_resource, metrics_request

pytestmark = pytest.mark.mysql

CID = 7
DEVELOPERS, DAYS = 100, 40  # 4,000 developer-days, 28,000 command-statistics rows
END = dt.date(2026, 3, 31)
FIRST = END - dt.timedelta(days=DAYS - 1)
WRITE_ROWS = 40  # a batch of up to three days touches a handful of rows in any table
DEVELOPER_ROWS = 2 * COMMAND_STATS_PER_DAY * DAYS  # forget/prune: one developer's rows at most, with slack
Captured = list[tuple[str, str, Any]]  # (path, statement, parameters)


@pytest.fixture
def engine(fresh_mysql_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_mysql_url)
    ensure_schema(engine)
    fill_engine(engine, CID, DEVELOPERS, DAYS, FIRST)
    yield engine
    engine.dispose()


def _capture(engine: Engine, captured: Captured) -> Callable[[str, Callable[[], object]], None]:
    """``run(path, work)``: run ``work`` with every statement it sends recorded under ``path``."""
    current = {"path": ""}

    def record(_conn: Connection, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        captured.append((current["path"], statement, params[0] if many else params))

    sa.event.listen(engine, "before_cursor_execute", record)

    def run(path: str, work: Callable[[], object]) -> None:
        current["path"] = path
        work()

    return run


def _otlp_items(days: int) -> list[Any]:
    """What the OTLP routes hand the writer for ``days`` day summaries, metrics and install sightings."""
    fake = list(generate_days(days, 1, connection_id=CID, seed=3, end=END))[:days]
    sightings = generate_installs(days, 1, seed=3, end=END)[:days]
    items: list[Any] = []
    for body in otlp_requests(fake, sightings):
        items += LOGS.map(ExportLogsServiceRequest.FromString(body), CID).to_store
    for day in fake:
        figures = DayFigures(day.row.date.isoformat()).active_hours(5).commands(test=2, build=1)
        body = metrics_request(figures, developer_resource(day.row.developer_id, day.install_id))
        items += METRICS.map(ExportMetricsServiceRequest.FromString(body), CID).to_store
    return items


def _ai_points(count: int, kind: str) -> list[AiPoint]:
    return [
        AiPoint(
            CID,
            f"stream-{kind}-{n}",
            1,
            10 + n,
            kind,
            3.0,
            f"fleet-{n:06d}",
            END,
            "claude-code",
            "python",
            "agent",
            "lines_added",
        )
        for n in range(count)
    ]


def _drive_write_paths(engine: Engine, run: Callable[[str, Callable[[], object]], None]) -> None:
    for size in (1, 3):
        items = _otlp_items(size)
        run(
            f"otlp x{size}", lambda items=items: run_in_transaction(engine, lambda c: store_otlp_in(c, items))
        )
        # The same again: now every key exists, so the updating branches run.
        changed = _otlp_items(size)
        run(
            f"otlp again x{size}", lambda i=changed: run_in_transaction(engine, lambda c: store_otlp_in(c, i))
        )
        for kind in (DELTA, CUMULATIVE):
            points = _ai_points(size, kind)
            run(
                f"ai {kind} x{size}",
                lambda p=points: run_in_transaction(engine, lambda c: store_otlp_in(c, p)),
            )
        legacy = [parse_report(to_flat_report(d.row), CID) for d in generate_days(size, 1, connection_id=CID)]
        run(
            f"legacy x{size}",
            lambda d=legacy[:size]: run_in_transaction(engine, lambda c: upsert_days_in(c, d)),
        )


def _plans(engine: Engine, captured: Captured) -> list[tuple[str, str, dict[str, Any]]]:
    """EXPLAIN of every captured SELECT/UPDATE/DELETE (an INSERT … VALUES writes by key)."""
    plans = []
    with engine.connect() as conn:
        for path, statement, params in captured:
            verb = statement.lstrip().split(None, 1)[0].upper()
            if verb not in ("SELECT", "UPDATE", "DELETE") or "information_schema" in statement.lower():
                continue
            for row in conn.exec_driver_sql("EXPLAIN " + statement, params).mappings():
                plans.append((path, statement, dict(row)))
    return plans


def _scans(plans: list[tuple[str, str, dict[str, Any]]], most_rows: int) -> list[str]:
    bad = []
    for path, statement, plan in plans:
        if plan["table"] in (None, VERSION_TABLE):  # nothing read; the one-row schema version
            continue
        if plan["type"] in ("ALL", "index") or int(plan["rows"] or 0) > most_rows:
            bad.append(f"{path}: {plan['type']} {plan['key']} rows={plan['rows']} :: {statement[:160]}")
    return bad


def test_write_paths_read_only_the_keys_they_write(engine: Engine) -> None:
    captured: Captured = []
    run = _capture(engine, captured)
    _drive_write_paths(engine, run)
    plans = _plans(engine, captured)
    paths = {path for path, _, _ in plans}
    assert {"otlp x1", "otlp again x3", "ai delta x1", "ai cumulative x3"} <= paths, paths
    tables = {plan["table"] for _, _, plan in plans}
    assert {"_devtel_install_days", "_tool_developer_command_stats", "_devtel_ai_points"} <= tables, tables
    assert _scans(plans, WRITE_ROWS) == []


def test_forget_and_prune_of_dated_rows_read_one_developer_at_a_time(engine: Engine) -> None:
    captured: Captured = []
    run = _capture(engine, captured)
    run("forget", lambda: forget(engine, CID, "fleet-000005"))
    run("prune", lambda: prune(engine, older_than_days=30, ai_older_than_days=10, today=END))
    plans = _plans(engine, captured)
    tables = {p[2]["table"] for p in plans}
    assert {"_tool_developer_metrics", "_tool_developer_command_stats", "_devtel_ai_points"} <= tables
    assert _scans(plans, DEVELOPER_ROWS + 2 * DEVELOPERS) == []


def test_forget_and_prune_of_installs_use_an_index(engine: Engine) -> None:
    captured: Captured = []
    run = _capture(engine, captured)
    run("forget", lambda: forget(engine, CID, "fleet-000005"))
    run("prune", lambda: prune(engine, older_than_days=30, today=END))
    assert _scans(_plans(engine, captured), DEVELOPER_ROWS + 2 * DEVELOPERS) == []
