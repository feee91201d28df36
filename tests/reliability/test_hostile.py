"""The receiver on a hostile network: bad data is only ever its sender's problem.

A small slice of the generated corpus (the full ≥10,000 per route is tests/benchmarks/hostile_figures.py)
against a real receiver on MariaDB, group-commit isolation against a real MariaDB table, and ids.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from bridge.errors import InvalidReport
from bridge.store.database import make_engine
from bridge.store.upsert import run_in_transaction
from otlp_receiver.writer import BatchWriter
from tests.reliability.hostile import Target, legacy_body, legacy_cases, otlp_cases, rows_by_tag, send_cases
from tests.support.processes import RunningReceiver, create_connection, start_receiver

pytestmark = pytest.mark.mysql


@pytest.fixture(scope="module")
def receiver(
    mysql_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningReceiver, Target]]:
    workdir = tmp_path_factory.mktemp("hostile")
    connection_id, api_key = create_connection(mysql_url, f"hostile-{workdir.name}")
    running = start_receiver(mysql_url, workdir)
    yield running, Target(connection_id, api_key)
    assert running.stop() == 0, running.log()


@pytest.mark.parametrize("route", ["legacy", "otlp"])
def test_hostile_corpus_gets_no_5xx_and_rejected_requests_change_nothing(
    receiver: tuple[RunningReceiver, Target], route: str
) -> None:
    running, target = receiver
    generate = legacy_cases if route == "legacy" else otlp_cases
    cases = list(generate(target, 120, seed=1600 + len(route)))
    statuses = asyncio.run(send_cases(running.url, iter(cases), 8))
    assert len(statuses) == len(cases)
    server_errors = {tag: status for tag, status in statuses.items() if status >= 500}
    assert server_errors == {}, running.log()[-3000:]
    assert {s for s in statuses.values()} & {400, 200}  # the corpus reaches both outcomes
    engine = make_engine(running.db_url)
    try:
        rows = rows_by_tag(engine)
    finally:
        engine.dispose()
    rejected = {tag for tag, status in statuses.items() if status >= 400 or status == 0}
    changed_by_rejected = {tag: rows[tag] for tag in rejected if tag in rows}
    assert changed_by_rejected == {}
    if route == "legacy":  # every accepted legacy report is exactly one row
        accepted = [tag for tag, status in statuses.items() if status == 200]
        assert all(rows.get(tag) == 1 for tag in accepted)


def test_unicode_digits_are_not_connection_ids(receiver: tuple[RunningReceiver, Target]) -> None:
    running, target = receiver
    # Arabic-Indic digits of the real id: int() reads them as the id, an id check must not.
    arabic = "".join(chr(0x660 + int(d)) for d in str(target.connection_id))
    assert int(arabic) == target.connection_id
    body = json.dumps(legacy_body("ids-")).encode()
    headers = {**target.bearer(), "Content-Type": "application/json"}
    path = f"/api/rest/plugins/developer_telemetry/connections/{arabic}/report"
    answer = httpx.post(running.url + path, content=body, headers=headers)
    assert answer.status_code == 404, answer.text
    basic = base64.b64encode(f"{arabic}:{target.api_key}".encode()).decode()
    answer = httpx.post(
        running.url + "/v1/logs",
        content=b"",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-protobuf"},
    )
    assert answer.status_code == 401, answer.text
    assert "numeric connection id" in answer.json()["message"]


def test_group_commit_answers_the_culprit_alone(fresh_mysql_url: str) -> None:
    """16 honest requests and one the database refuses (invalid JSON), in the same batches."""
    engine = make_engine(fresh_mysql_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v JSON)")

    def write(items: list[str]) -> None:
        def insert(conn: sa.Connection) -> int:
            conn.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), [{"v": v} for v in items])
            return len(items)

        run_in_transaction(engine, insert)

    async def run() -> list[BaseException | None]:
        writer: BatchWriter[str] = BatchWriter(write)
        writer.start()
        requests = [[json.dumps({"honest": n})] for n in range(16)]
        requests.insert(7, ["{not json"])
        results = await asyncio.gather(*(writer.submit(r) for r in requests), return_exceptions=True)
        await writer.stop()
        return list(results)

    results = asyncio.run(run())
    failures = [r for r in results if r is not None]
    assert len(failures) == 1 and isinstance(failures[0], InvalidReport), results
    assert results[7] is failures[0] and failures[0].field == "v"
    with engine.connect() as conn:
        stored = sorted(json.loads(v)["honest"] for (v,) in conn.exec_driver_sql("SELECT v FROM t"))
    engine.dispose()
    assert stored == list(range(16))


def _resources_request(developers: int, attributes: int) -> bytes:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    from tests.support.otlp import DayFigures, developer_resource, metrics_request

    request = ExportMetricsServiceRequest()
    for n in range(developers):
        extra = {f"x.{a}": "v" for a in range(attributes)}
        one = metrics_request(
            DayFigures("2026-03-02").active_hours(1), developer_resource(f"lim{n}", f"i{n}", **extra)
        )
        request.MergeFromString(one)
    return request.SerializeToString()


@pytest.mark.parametrize(
    ("developers", "attributes", "status", "named"),
    [(1001, 0, 413, "DEVTEL_OTLP_MAX_DEVELOPERS"), (1, 130, 400, "DEVTEL_OTLP_MAX_ATTRIBUTES")],
)
def test_request_shape_limits_are_named(
    receiver: tuple[RunningReceiver, Target], developers: int, attributes: int, status: int, named: str
) -> None:
    running, target = receiver
    answer = httpx.post(
        running.url + "/v1/metrics",
        content=_resources_request(developers, attributes),
        headers={**target.bearer(), "Content-Type": "application/x-protobuf"},
        timeout=60,
    )
    assert answer.status_code == status
    engine = make_engine(running.db_url)
    try:
        assert all(not tag.startswith("lim") for tag in rows_by_tag(engine))
    finally:
        engine.dispose()
    from google.rpc import status_pb2

    assert named in status_pb2.Status.FromString(answer.content).message


def test_large_otlp_json_goes_through_the_helper_process(receiver: tuple[RunningReceiver, Target]) -> None:
    """Over 1 MiB, OTLP/JSON is parsed in a helper process (otlp_receiver/json_pool.py)."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    from tests.support.otlp import DayFigures, developer_resource, metrics_request

    running, target = receiver
    figures = DayFigures("2026-03-03")
    for n in range(500):
        figures.repository(f"big-json-repository-{n:04d}-" + "r" * 100, 1, 2, 3, 4)
    raw = metrics_request(figures, developer_resource("big.json", "bj"))
    body = json_format.MessageToJson(ExportMetricsServiceRequest.FromString(raw)).encode()
    assert len(body) > 1 << 20
    headers = {**target.bearer(), "Content-Type": "application/json"}
    assert (
        httpx.post(running.url + "/v1/metrics", content=body[:-2], headers=headers, timeout=60).status_code
        == 400
    )
    answer = httpx.post(running.url + "/v1/metrics", content=body, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    engine = make_engine(running.db_url)
    try:
        with engine.connect() as conn:
            (activity,) = conn.execute(
                sa.text("SELECT git_activity FROM _tool_developer_metrics WHERE developer_id = 'big.json'")
            ).one()
    finally:
        engine.dispose()
    assert json.loads(activity)["total_commits"] == 500
