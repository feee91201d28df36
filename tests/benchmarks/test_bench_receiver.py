"""Receiver figures: day snapshots into MariaDB over the legacy route, OTLP/HTTP and OTLP/gRPC.

Run: ``make bench`` (or ``.venv/bin/python -m pytest tests/benchmarks/test_bench_receiver.py -s``).

A real ``devtel-receiver serve`` process on a throwaway MariaDB database; wrk (HTTP) and a few
grpcio processes (gRPC) as the clients, at 1, 16 and 64 concurrent clients, one developer-day
snapshot per request. Each figure sits next to baselines measured in the same run: the
receiver's do-nothing answer at the same concurrency (GET /healthz; an empty Export over gRPC),
and the database ceiling (raw PyMySQL ``INSERT ... ON DUPLICATE KEY UPDATE`` of the same rows,
500 per transaction; and the bridge's own OTLP write path called directly). The machine is
shared, so every case runs ``DEVTEL_BENCH_REPEATS`` times interleaved with its baseline and the
median run is shown; read the ratios, not the absolute numbers.

``DEVTEL_BENCH_BEFORE=<git revision>`` also runs that revision's receiver on the same load, in
the same run, to measure a change. Nothing here asserts a timing: only that every request was
answered 2xx (or a deliberate 429/503) and that the stored rows are exactly right.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import grpc
import httpx
import pymysql
import pytest
import sqlalchemy as sa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from sqlalchemy.engine import Engine

from bridge.errors import StorageUnavailable
from bridge.fake.team import FakeDay, generate_days
from bridge.mapping.dates import utc_now
from bridge.mapping.day import DeveloperDay
from bridge.mapping.legacy import parse_report, to_flat_report
from bridge.mapping.otlp_values import to_key_values
from bridge.mapping.snapshots import FieldSnapshot, merge_day
from bridge.schema.migrate import ensure_schema
from bridge.schema.tables import developer_metrics, dump_json
from bridge.store.database import make_engine
from bridge.store.snapshot_store import store_otlp_in
from bridge.store.upsert import VALUE_COLUMNS, run_in_transaction
from otlp_receiver.fake import REPORT_URL, day_resource, summary_record
from otlp_receiver.signals import LOGS, METRICS, Signal
from tests.benchmarks.load import Frame, Run, median_run, run_grpc, run_wrk, write_frames, wrk_available
from tests.support.otlp import DayFigures, metrics_request
from tests.support.processes import ROOT, RunningReceiver, create_connection, free_port, start_receiver

# Each test runs every receiver at every level: minutes, not the suite's default limit.
pytestmark = [pytest.mark.benchmark, pytest.mark.mysql, pytest.mark.timeout(3600)]

LEVELS = (1, 16, 64)
SECONDS = float(os.environ.get("DEVTEL_BENCH_SECONDS", "3"))
REPEATS = int(os.environ.get("DEVTEL_BENCH_REPEATS", "2"))
BEFORE_ENV = "DEVTEL_BENCH_BEFORE"
WORKERS = int(os.environ.get("DEVTEL_BENCH_WORKERS", "2"))  # also this tree with `serve --workers`
END = dt.date(2026, 6, 30)
RAW_BATCH = 500
BRIDGE_BATCH = 64  # requests per group commit when 64 clients keep the writer busy
HTTP_OK = {"200"}
HTTP_DELIBERATE = {"429", "503"}
GRPC_OK = {"OK"}
GRPC_DELIBERATE = {"RESOURCE_EXHAUSTED", "UNAVAILABLE"}


@dataclass
class Figure:
    case: str
    receiver: str
    run: Run
    baseline: Run | None = None  # the do-nothing answer at the same concurrency
    ceiling: float | None = None  # database rows/s for the same rows


FIGURES: list[Figure] = []
CEILINGS: dict[str, float] = {}


# ---------------------------------------------------------------- the data


@pytest.fixture(scope="module")
def team() -> list[FakeDay]:
    """About 3,300 developer-days (6,700 OTLP requests): enough that a run of a few seconds sends
    each at most once, so every request carries a day not yet stored (a replay, which the receiver
    answers without writing, would flatter the figures), and 64 clients rarely share a row."""
    return list(generate_days(160, 4, connection_id=0, seed=7, end=END))


def _metrics_body(day: FakeDay) -> bytes:
    """The day's metrics as the agent sends them, observed an hour before its summary event."""
    row = day.row
    figures = DayFigures(row.date.isoformat()).active_hours(row.active_hours)
    for repo in (row.git_activity or {}).get("repositories", []):
        figures.repository(
            repo["name"], repo["commits"], repo["lines_added"], repo["lines_deleted"], repo["files_changed"]
        )
    activity = row.development_activity or {}
    figures.commands(
        test=activity.get("test_runs_detected", 0), build=activity.get("build_commands_detected", 0)
    )
    figures.tools(*(row.tools_used or []))
    observed = dt.datetime.combine(row.date, dt.time(22, 30), dt.UTC)
    return metrics_request(figures, day_resource(row, day.install_id), int(observed.timestamp() * 1e9))


def _summary_body(day: FakeDay) -> bytes:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(to_key_values(day_resource(day.row, day.install_id)))
    resource_logs.scope_logs.add().log_records.append(summary_record(day))
    return request.SerializeToString()


@pytest.fixture(scope="module")
def otlp_bodies(team: list[FakeDay]) -> list[tuple[Signal, bytes]]:
    """Per day, its metrics request and its day-summary event request: one snapshot each."""
    return [pair for day in team for pair in ((METRICS, _metrics_body(day)), (LOGS, _summary_body(day)))]


def _normalized(day: DeveloperDay) -> dict[str, Any]:
    """A row's values as they come back from the database (JSON round-tripped)."""
    return {c: json.loads(dump_json(getattr(day, c))) for c in VALUE_COLUMNS}


@pytest.fixture(scope="module")
def legacy_expected(team: list[FakeDay]) -> dict[tuple[str, dt.date], dict[str, Any]]:
    return {
        (d.row.developer_id, d.row.date): _normalized(parse_report(to_flat_report(d.row), 0)) for d in team
    }


@pytest.fixture(scope="module")
def otlp_expected(otlp_bodies: list[tuple[Signal, bytes]]) -> dict[tuple[str, dt.date], dict[str, Any]]:
    """What the bridge makes of every body once, merged in memory: no database, no receiver."""
    by_day: dict[Any, list[FieldSnapshot]] = {}
    for signal, body in otlp_bodies:
        result = signal.map(signal.request_type.FromString(body), 0)
        assert not result.rejected, result.messages
        for snap in result.snapshots:
            by_day.setdefault(snap.day_key, []).append(snap)
    return {(key[1], key[2]): _normalized(merge_day(key, snaps)) for key, snaps in by_day.items()}


def _stored(engine: Engine, connection_id: int) -> dict[tuple[str, dt.date], dict[str, Any]]:
    table = developer_metrics
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).where(table.c.connection_id == connection_id))
        return {(r.developer_id, r.date): {c: getattr(r, c) for c in VALUE_COLUMNS} for r in rows}


# ---------------------------------------------------------------- the receivers


@pytest.fixture(scope="module")
def engine(mysql_url: str) -> Iterator[Engine]:
    engine = make_engine(mysql_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


class Target(NamedTuple):
    """A receiver under test, the database it writes (where its figures are checked) and its
    source tree, whose own CLI makes its connections (another tree's could upgrade its tables)."""

    receiver: RunningReceiver
    engine: Engine
    source: Path = ROOT

    def new_connection(self, name: str) -> tuple[int, str]:
        return create_connection(self.receiver.db_url, f"{name} {time.time_ns()}", self.source)


def archive_revision(revision: str, into: Path) -> Path:
    """The source tree of ``revision`` (``git archive``), to run an older receiver side by side."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


@pytest.fixture(scope="module")
def receivers(
    mysql_url: str, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Target]]:
    """This tree's receiver, and the one of $DEVTEL_BENCH_BEFORE when set, in a database of its
    own: two revisions may keep different tables, and a newer one may upgrade an older one's."""
    if not wrk_available():
        pytest.skip("wrk is not installed (Debian: apt-get install wrk; `make bench` installs it)")
    logs = tmp_path_factory.mktemp("receiver-logs")
    running = {"this tree": Target(start_receiver(mysql_url, logs, grpc_port=free_port()), engine)}
    if WORKERS > 1:
        workers = ("--workers", str(WORKERS))
        several = start_receiver(mysql_url, logs, grpc_port=free_port(), extra_args=workers)
        while several.log().count("Application startup complete") < WORKERS:
            time.sleep(0.2)
        running[f"this tree, {WORKERS} workers"] = Target(several, engine)
    before = os.environ.get(BEFORE_ENV)
    before_db = f"{engine.url.database}_before"
    if before:
        tree = archive_revision(before, tmp_path_factory.mktemp("before"))
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE `{before_db}`")
        url = engine.url.set(database=before_db).render_as_string(hide_password=False)
        before_engine = make_engine(url)
        receiver = start_receiver(url, logs, grpc_port=free_port(), source=tree)
        running = {f"before ({before})": Target(receiver, before_engine, tree), **running}
    yield running
    for target in running.values():
        assert target.receiver.stop() == 0, target.receiver.log()
        if target.engine is not engine:
            target.engine.dispose()
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP DATABASE `{before_db}`")


@pytest.fixture(scope="module", autouse=True)
def figures_table() -> Iterator[None]:
    """Print every figure as one table once the module is done."""
    yield
    print("\n" + render_table())


def render_table() -> str:
    header = (
        f"{'case':<26} {'receiver':<18} {'clients':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'x do-nothing':>12} {'x DB ceiling':>12} {'CPU recv/db/load':>17}"
    )
    lines = [
        f"Receiver figures ({SECONDS:g} s per run, median of {REPEATS} repeats; one day snapshot per request;"
        " req/s = day snapshots/s)",
        "DB ceilings (rows/s): " + ", ".join(f"{name} {rate:,.0f}" for name, rate in CEILINGS.items()),
        header,
        "-" * len(header),
    ]
    for f in FIGURES:
        run = f.run
        vs_base = f"{run.rate / f.baseline.rate:.2f}" if f.baseline and f.baseline.rate else "-"
        vs_db = f"{run.rate / f.ceiling:.2f}" if f.ceiling else "-"
        cpu = "/".join(f"{run.cpu.get(k, 0):.2f}" for k in ("receiver", "database", "load"))
        lines.append(
            f"{f.case:<26} {f.receiver:<18} {run.clients:>7} {run.rate:>8,.0f} {run.p50_ms:>7.1f} "
            f"{run.p99_ms:>7.1f} {vs_base:>12} {vs_db:>12} {cpu:>17}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the database ceiling


def _raw_upsert_rate(mysql_url: str, rows: Sequence[tuple[Any, ...]]) -> float:
    """PyMySQL alone: executemany of the upsert, RAW_BATCH rows per transaction."""
    url = sa.engine.make_url(mysql_url)
    columns = ("connection_id", "developer_id", "date", *VALUE_COLUMNS, "created_at", "updated_at")
    updates = ", ".join(f"{c} = VALUES({c})" for c in (*VALUE_COLUMNS, "updated_at"))
    sql = (
        f"INSERT INTO _tool_developer_metrics ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) ON DUPLICATE KEY UPDATE {updates}"
    )
    conn = pymysql.connect(
        host=url.host,
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        database=url.database,
        charset="utf8mb4",
    )
    try:
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for start in range(0, len(rows), RAW_BATCH):
                cursor.executemany(sql, rows[start : start + RAW_BATCH])
                conn.commit()
        return len(rows) / (time.perf_counter() - started)
    finally:
        conn.close()


def raw_rows(connection_id: int, days: Sequence[FakeDay], now: dt.datetime) -> list[tuple[Any, ...]]:
    """The days as the raw upsert's parameter rows (JSON columns serialized as the bridge does)."""
    return [
        (
            connection_id,
            d.row.developer_id,
            d.row.date,
            *(
                dump_json(v) if isinstance(v, dict | list) else v
                for v in (getattr(d.row, c) for c in VALUE_COLUMNS)
            ),
            now,
            now,
        )
        for d in days
    ]


def _despite_restarts(measure: Callable[[], float]) -> float:
    """Measure again when the shared MariaDB went away mid-pass (other suites restart it on purpose)."""
    for _ in range(5):
        try:
            return measure()
        except (pymysql.err.OperationalError, StorageUnavailable) as exc:
            print(f"\n[receiver] database went away during a ceiling pass ({exc}); measuring again")
            time.sleep(5)
    return measure()


def test_database_ceiling(mysql_url: str, engine: Engine, otlp_bodies: list[tuple[Signal, bytes]]) -> None:
    """The storage side alone, before any receiver load: what the route figures are compared to."""
    now = utc_now()
    big_team = list(generate_days(150, 8, connection_id=0, seed=11, end=END))
    raw_rates = []
    for attempt in range(REPEATS * 2):  # first pass inserts, later passes update
        rows = raw_rows(900_000 + attempt % 2, big_team, now)
        raw_rates.append(_despite_restarts(lambda rows=rows: _raw_upsert_rate(mysql_url, rows)))
    CEILINGS["raw upsert"] = sorted(raw_rates)[len(raw_rates) // 2]

    # The bridge's OTLP write (lock, read, merge, rebuild the rows) without any transport, each
    # pass into a connection of its own: a pass over days already stored would write nothing.
    def bridge_pass(connection_id: int) -> float:
        mapped = [
            signal.map(signal.request_type.FromString(body), connection_id).to_store
            for signal, body in otlp_bodies
        ]
        started = time.perf_counter()
        for start in range(0, len(mapped), BRIDGE_BATCH):
            items = [item for request in mapped[start : start + BRIDGE_BATCH] for item in request]
            run_in_transaction(engine, lambda conn, items=items: store_otlp_in(conn, items))
        return len(mapped) / (time.perf_counter() - started)

    bridge_rates = [_despite_restarts(lambda n=n: bridge_pass(900_002 + n)) for n in range(REPEATS)]
    CEILINGS["bridge OTLP write (no transport)"] = sorted(bridge_rates)[len(bridge_rates) // 2]
    print(f"\n[receiver] raw upsert rows/s {raw_rates}; bridge OTLP snapshots/s {bridge_rates}")
    assert len(_stored(engine, 900_002)) == len(otlp_bodies) // 2


# ---------------------------------------------------------------- the routes


def _check_http_statuses(runs: Sequence[Run]) -> None:
    for run in runs:
        assert run.socket_errors == 0, run
        assert set(run.statuses) <= HTTP_OK | HTTP_DELIBERATE, run.statuses


def _sweep(frames: Sequence[Frame], send: Callable[[Frame], bool]) -> None:
    """Send every frame once more (retrying deliberate 429/503), so the rows can be checked exactly."""

    def deliver(frame: Frame) -> None:
        for _ in range(20):
            if send(frame):
                return
            time.sleep(0.5)
        raise AssertionError(f"{frame.target} was refused 20 times")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(deliver, frames))


def _http_sweep(base: str, frames: Sequence[Frame], authorization: str, content_type: str) -> None:
    headers = {"Authorization": authorization, "Content-Type": content_type}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:

        def send(frame: Frame) -> bool:
            status = client.post(frame.target, content=frame.body).status_code
            assert str(status) in HTTP_OK | HTTP_DELIBERATE, status
            return str(status) in HTTP_OK

        _sweep(frames, send)


DayKey = tuple[str, dt.date]


def _not_stored(
    engine: Engine, connection_id: int, expected: dict[DayKey, Any], frames_by_day: dict[DayKey, list[Frame]]
) -> list[Frame]:
    """The frames of every day whose row is not yet exactly right: a run stops partway through
    the frames, and a deliberate 429/503 may have refused any of them."""
    stored = _stored(engine, connection_id)
    wrong = [key for key in frames_by_day if stored.get(key) != expected[key]]
    return [frame for key in wrong for frame in frames_by_day[key]]


def _http_case(
    label: tuple[str, str, int],
    under_test: Target,
    connection: tuple[int, str],
    frames: tuple[Path, Path],
    content_type: str,
    by_day: dict[DayKey, list[Frame]],
    expected: dict[DayKey, Any],
) -> None:
    """One HTTP figure (case, receiver, clients): measure the route and its do-nothing baseline,
    then resend what was not stored and check every row. ``frames``: the route's, the baseline's."""
    case, name, clients = label
    connection_id, api_key = connection
    authorization = f"Bearer {api_key}"
    run, baseline = _measure_http(
        under_test.receiver,
        *frames,
        clients=clients,
        authorization=authorization,
        content_type=content_type,
    )
    FIGURES.append(Figure(case, name, run, baseline, CEILINGS.get("raw upsert")))
    missing = _not_stored(under_test.engine, connection_id, expected, by_day)
    _http_sweep(under_test.receiver.url, missing, authorization, content_type)
    assert _stored(under_test.engine, connection_id) == expected


@pytest.fixture(scope="module")
def day_keys(team: list[FakeDay]) -> list[DayKey]:
    """The days in the order of the bodies: one legacy body, or two OTLP bodies, per day."""
    return [(d.row.developer_id, d.row.date) for d in team]


def _measure_http(
    receiver: RunningReceiver,
    frames: Path,
    baseline_frames: Path,
    *,
    clients: int,
    authorization: str,
    content_type: str,
) -> tuple[Run, Run]:
    """Baseline and route interleaved, REPEATS times; the median of each."""
    routes, baselines = [], []
    for _ in range(REPEATS):
        baselines.append(
            run_wrk(
                receiver.url,
                baseline_frames,
                clients=clients,
                seconds=SECONDS,
                authorization="",
                content_type="",
                receiver_pid=receiver.process.pid,
            )
        )
        routes.append(
            run_wrk(
                receiver.url,
                frames,
                clients=clients,
                seconds=SECONDS,
                authorization=authorization,
                content_type=content_type,
                receiver_pid=receiver.process.pid,
            )
        )
    _check_http_statuses([*routes, *baselines])
    return median_run(routes), median_run(baselines)


@pytest.fixture(scope="module")
def healthz_frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_frames(tmp_path_factory.mktemp("frames") / "healthz", [Frame("GET", "/healthz")])


def test_legacy_route(
    receivers: dict[str, Target],
    team: list[FakeDay],
    day_keys: list[DayKey],
    legacy_expected: dict[tuple[str, dt.date], dict[str, Any]],
    healthz_frames: Path,
    tmp_path: Path,
) -> None:
    bodies = [json.dumps(to_flat_report(d.row)).encode() for d in team]
    for name, under_test in receivers.items():
        for clients in LEVELS:
            connection_id, api_key = under_test.new_connection(f"bench legacy {name} {clients}")
            path = REPORT_URL.format(base="", connection=connection_id)
            frame_list = [Frame("POST", path, body) for body in bodies]
            frames = write_frames(tmp_path / f"legacy-{connection_id}", frame_list)
            by_day = {key: [frame] for key, frame in zip(day_keys, frame_list, strict=True)}
            _http_case(
                ("legacy JSON route", name, clients),
                under_test,
                (connection_id, api_key),
                (frames, healthz_frames),
                "application/json",
                by_day,
                legacy_expected,
            )


def test_otlp_http_protobuf(
    receivers: dict[str, Target],
    day_keys: list[DayKey],
    otlp_bodies: list[tuple[Signal, bytes]],
    otlp_expected: dict[tuple[str, dt.date], dict[str, Any]],
    healthz_frames: Path,
    tmp_path: Path,
) -> None:
    frame_list = [Frame("POST", signal.path, body) for signal, body in otlp_bodies]
    frames = write_frames(tmp_path / "otlp-http", frame_list)
    by_day = {key: frame_list[2 * n : 2 * n + 2] for n, key in enumerate(day_keys)}
    assert by_day.keys() == otlp_expected.keys()
    for name, under_test in receivers.items():
        for clients in LEVELS:
            _http_case(
                ("OTLP/HTTP protobuf", name, clients),
                under_test,
                under_test.new_connection(f"bench otlp-http {name} {clients}"),
                (frames, healthz_frames),
                "application/x-protobuf",
                by_day,
                otlp_expected,
            )


def _grpc_path(signal: Signal) -> str:
    return f"/{signal.grpc_service}/Export"


def test_otlp_grpc(
    receivers: dict[str, Target],
    otlp_bodies: list[tuple[Signal, bytes]],
    otlp_expected: dict[tuple[str, dt.date], dict[str, Any]],
    tmp_path: Path,
) -> None:
    frame_list = [Frame("RPC", _grpc_path(signal), body) for signal, body in otlp_bodies]
    frames = write_frames(tmp_path / "otlp-grpc", frame_list)
    # The do-nothing baseline: an empty Export goes through auth and decoding, stores nothing.
    empty = write_frames(tmp_path / "grpc-empty", [Frame("RPC", _grpc_path(LOGS), b"")])
    for name, under_test in receivers.items():
        receiver, engine = under_test.receiver, under_test.engine
        target = f"127.0.0.1:{receiver.grpc_port}"
        for clients in LEVELS:
            connection_id, api_key = under_test.new_connection(f"bench otlp-grpc {name} {clients}")
            authorization = f"Bearer {api_key}"
            routes, baselines = [], []
            for _ in range(REPEATS):
                for runs, which in ((baselines, empty), (routes, frames)):
                    runs.append(
                        run_grpc(
                            target,
                            which,
                            clients=clients,
                            seconds=SECONDS,
                            authorization=authorization,
                            receiver_pid=receiver.process.pid,
                        )
                    )
            for run in (*routes, *baselines):
                assert set(run.statuses) <= GRPC_OK | GRPC_DELIBERATE, run.statuses
            FIGURES.append(
                Figure(
                    "OTLP/gRPC", name, median_run(routes), median_run(baselines), CEILINGS.get("raw upsert")
                )
            )
            answered = set().union(*(run.answered_frames or set() for run in routes))
            missing = [frame for n, frame in enumerate(frame_list) if n not in answered]
            if missing:
                with grpc.insecure_channel(target) as channel:

                    def send(
                        frame: Frame, channel: grpc.Channel = channel, authorization: str = authorization
                    ) -> bool:
                        call = channel.unary_unary(frame.target)
                        try:
                            call(frame.body, metadata=(("authorization", authorization),), timeout=30)
                        except grpc.RpcError as exc:
                            assert exc.code().name in GRPC_DELIBERATE, exc
                            return False
                        return True

                    _sweep(missing, send)
            assert _stored(engine, connection_id) == otlp_expected
