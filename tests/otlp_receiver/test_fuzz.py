"""Hostile input, generated: no body a client can send makes the receiver answer 5xx, and a
rejected request changes no row."""

from __future__ import annotations

import json
from typing import Any

import httpx
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.store.database import make_engine
from tests.otlp_receiver.conftest import Served

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=300)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=30,
)
LEGACY_KEYS = (
    "developer_id",
    "developer",
    "email",
    "name",
    "hostname",
    "date",
    "active_hours",
    "git_activity",
    "development_activity",
    "tools_used",
    "project_context",
    "metrics",
)
legacy_bodies = st.dictionaries(
    st.sampled_from(LEGACY_KEYS) | st.text(max_size=10),
    json_values | st.sampled_from(["2026-02-19", "2026-02-30", "fuzz.user"]),
    max_size=8,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def snapshot_of_rows(served: Served) -> list[tuple[Any, ...]]:
    engine = make_engine(served.receiver.db_url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    sa.text(
                        "SELECT developer_id, date, active_hours, git_activity FROM _tool_developer_metrics"
                        " WHERE connection_id = :c ORDER BY developer_id, date"
                    ),
                    {"c": served.connection_id},
                )
            ]
    finally:
        engine.dispose()


@FUZZ
@given(body=legacy_bodies)
def test_legacy_route_never_fails_on_generated_bodies(served: Served, body: dict[str, Any]) -> None:
    before = snapshot_of_rows(served)
    response = httpx.post(
        served.report_url,
        content=json.dumps(body),
        timeout=30,
        headers={"Content-Type": "application/json", **served.auth()},
    )
    assert response.status_code in (200, 400), (response.status_code, response.text, body)
    if response.status_code == 400:
        assert snapshot_of_rows(served) == before
        assert response.json()["message"]


otlp_keys = st.sampled_from(
    [
        "resourceMetrics",
        "resourceLogs",
        "resource",
        "scopeMetrics",
        "scopeLogs",
        "metrics",
        "gauge",
        "sum",
        "dataPoints",
        "asInt",
        "asDouble",
        "timeUnixNano",
        "attributes",
        "key",
        "value",
        "stringValue",
        "intValue",
        "logRecords",
        "body",
        "eventName",
        "kvlistValue",
        "values",
        "traceId",
        "spanId",
        "name",
    ]
)
otlp_bodies = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(otlp_keys, inner, max_size=5),
    max_leaves=40,
)


@FUZZ
@given(body=otlp_bodies, path=st.sampled_from(["/v1/metrics", "/v1/logs", "/v1/traces"]))
def test_otlp_json_never_fails_on_generated_bodies(served: Served, body: Any, path: str) -> None:
    before = snapshot_of_rows(served)
    response = httpx.post(
        served.receiver.url + path,
        content=json.dumps(body),
        timeout=30,
        headers={"Content-Type": "application/json", **served.auth()},
    )
    assert response.status_code in (200, 400), (response.status_code, response.text, body)
    if response.status_code == 400:
        assert snapshot_of_rows(served) == before


@FUZZ
@given(body=st.binary(max_size=2000), path=st.sampled_from(["/v1/metrics", "/v1/logs"]))
def test_otlp_protobuf_never_fails_on_generated_bytes(served: Served, body: bytes, path: str) -> None:
    response = httpx.post(
        served.receiver.url + path,
        content=body,
        timeout=30,
        headers={"Content-Type": "application/x-protobuf", **served.auth()},
    )
    assert response.status_code in (200, 400), (response.status_code, response.text)
