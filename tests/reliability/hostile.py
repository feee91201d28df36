"""A generated corpus of hostile requests for every ingest route, and the bookkeeping around it.

Each case starts from a well-formed devtel request and applies one to three random mutations
(values a column or a JSON reader cannot hold, ids that are not ids, broken encodings, oversized
shapes, wrong credentials). Every developer and install id a case writes starts with its own
tag, so after a run the rows a rejected case changed can be counted by that tag alone.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import gzip
import json
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Gauge, NumberDataPoint, Sum

from agent import contract as c
from bridge.mapping.otlp_values import to_any_value, to_key_values

TEXTS = [
    "",
    " ",
    "\x00",
    "a\nb\r\x1b[31mforged log line",
    "\U0001f600" * 8,
    "x" * 300,
    "١٢٣",
    "𝟙",
    "'; DROP TABLE x; --",
]
NUMBERS: list[Any] = [
    0,
    -1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**64,
    10**30,
    1e308,
    float("nan"),
    float("inf"),
    1e-320,
]
DATES = [
    "",
    "2026-02-30",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "1970-01-01",
    "2026-1-1",
    "٢٠٢٦-٠١-٠١",
    20260101,
]
TIMES_NS = [0, 1, 2**63 - 1, 2**64 - 1, 10**19, 1_000_000_000 * 10**9]
MOMENTS: list[Any] = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "soon",
    -1,
    1e300,
    2**63,
]


def nested(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


FREE_JSON: list[Any] = [nested(40), nested(200), {"big": "x" * 70_000}, {"n": float("nan")}, {"n": 10**40}]
# protobuf decoders stop at 100 message levels; an array level costs two, an object level three.
_ARRAYS_44: Any = 1
for _ in range(44):
    _ARRAYS_44 = [_ARRAYS_44]
FREE_OTLP_JSON: list[Any] = [nested(25), _ARRAYS_44, {"big": "x" * 70_000}, {"n": float("nan")}, {"n": 1e300}]


@dataclass
class Case:
    """One request: where it goes, what it carries, and the tag every id it writes starts with."""

    path: str
    body: bytes
    headers: dict[str, str]
    tag: str
    mutations: list[str] = field(default_factory=list)


@dataclass
class Target:
    connection_id: int
    api_key: str

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


# --- the legacy route ---------------------------------------------------------------------------
def legacy_body(tag: str) -> dict[str, Any]:
    return {
        "developer_id": f"{tag}dev",
        "date": "2026-03-02",
        "email": f"{tag}@example.com",
        "name": "Hostile",
        "active_hours": 5,
        "git_activity": {"total_commits": 3, "repositories": [{"name": "r", "commits": 3}]},
        "development_activity": {"test_runs_detected": 2},
        "tools_used": ["git"],
        "project_context": [{"name": "r"}],
    }


_LEGACY_FIELDS = ["email", "name", "hostname", "os_info", "date", "active_hours", "developer_id"]


def _mutate_legacy(rng: random.Random, body: dict[str, Any], case: Case, target: Target) -> None:
    kind = rng.choice(["field", "free_json", "counts", "shape", "path", "bytes", "auth", "encoding"])
    case.mutations.append(kind)
    if kind == "field":
        key = rng.choice(_LEGACY_FIELDS)
        pool = DATES if key == "date" else rng.choice([TEXTS, NUMBERS])
        value = rng.choice(pool)
        body[key] = (case.tag + value) if key == "developer_id" and isinstance(value, str) else value
    elif kind == "free_json":
        where = rng.choice(["git_activity", "project_context", "development_activity"])
        extra = rng.choice(FREE_JSON)
        if where == "git_activity":
            body[where]["extra"] = extra
        elif where == "project_context":
            body[where] = [{"name": "r", "extra": extra}]
        else:
            body[where] = {"test_runs_detected": extra}
    elif kind == "counts":
        body["git_activity"]["repositories"][0]["commits"] = rng.choice(NUMBERS)
    elif kind == "shape":
        body["tools_used"] = rng.choice([["t"] * 50_000, "git", {"a": 1}, [nested(50)]])
    elif kind == "path":
        case.path = case.path.replace(
            f"/{target.connection_id}/",
            f"/{rng.choice(['١', '１', '0', '-1', '99999999999999999999', '1 '])}/",
        )
    elif kind == "auth":
        case.headers["Authorization"] = rng.choice(
            [
                "",
                "Bearer x",
                f"Basic {base64.b64encode('١:'.encode() + target.api_key.encode()).decode()}",
                "Bearer " + "a" * 128,
                "Basic %%%",
            ]
        )
    else:
        case.mutations.pop()  # byte and encoding mutations apply after encoding


def legacy_cases(target: Target, count: int, seed: int = 16) -> Iterator[Case]:
    rng = random.Random(seed)
    path = f"/api/rest/plugins/developer_telemetry/connections/{target.connection_id}/report"
    for index in range(count):
        case = Case(path, b"", {**target.bearer(), "Content-Type": "application/json"}, f"h{index:06d}-")
        body = legacy_body(case.tag)
        for _ in range(rng.randint(1, 3)):
            _mutate_legacy(rng, body, case, target)
        case.body = _json_bytes(body)
        _mutate_bytes(rng, case)
        yield case


# --- OTLP ---------------------------------------------------------------------------------------
def _resource(tag: str) -> dict[str, Any]:
    return {
        c.RES_SERVICE_NAME: c.SERVICE_NAME,
        c.RES_INSTANCE_ID: f"{tag}inst",
        c.RES_DEVELOPER_ID: f"{tag}dev",
        c.RES_EMAIL: f"{tag}@example.com",
    }


def _summary(tag: str) -> dict[str, Any]:
    return {
        c.BODY_ACTIVE_CLOCK_HOURS: [1772442000 + 3600 * h for h in range(3)],
        c.BODY_GIT_ACTIVITY: {"repositories": [{"name": "r", "commits": 2, "lines_added": 5}]},
        c.BODY_DEVELOPMENT_ACTIVITY: {"test_runs_detected": 1},
        c.BODY_TOOLS_USED: ["git"],
        c.BODY_PROJECT_CONTEXT: [{"name": "r"}],
    }


def _safe_value(value: Any) -> Any:
    """protobuf refuses ints outside 64 bits in an AnyValue: send those as doubles."""
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return float(value)
    return value


def _metrics(rng: random.Random, tag: str, case: Case) -> ExportMetricsServiceRequest:
    resource = _resource(tag)
    date: Any = "2026-03-02"
    value: Any = 4
    time_ns = 1772442000 * 10**9
    name = rng.choice([c.M_ACTIVE_HOURS, c.M_COMMITS, c.M_AI_LINES, c.M_AI_ACCEPTED])
    points, attrs_count, resources = 1, 0, 1
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["user", "date", "value", "time", "attrs", "points", "developers", "no_date"])
        case.mutations.append(kind)
        if kind == "user":
            choice = rng.choice([*TEXTS, None, 7])
            if choice is None:
                resource.pop(c.RES_DEVELOPER_ID, None)
            else:
                resource[c.RES_DEVELOPER_ID] = tag + choice if choice and isinstance(choice, str) else choice
        elif kind == "date":
            date = rng.choice(DATES)
        elif kind == "value":
            value = rng.choice(NUMBERS)
        elif kind == "time":
            time_ns = rng.choice(TIMES_NS)
        elif kind == "attrs":
            attrs_count = rng.choice([20, 200])
        elif kind == "points" and rng.random() < 0.2:
            points = rng.choice([2_000, 50_001])
        elif kind == "developers" and rng.random() < 0.3:
            resources = rng.choice([20, 1_001])
        else:
            date = None
    # big requests, but none the generator itself chokes on
    points = min(points, max(1, 60_000 // resources), max(1, 20_000 // max(1, attrs_count)))
    request = ExportMetricsServiceRequest()
    for r in range(resources):
        res = dict(resource)
        if resources > 1 and isinstance(res.get(c.RES_DEVELOPER_ID), str):
            res[c.RES_DEVELOPER_ID] += str(r)
            res[c.RES_INSTANCE_ID] += str(r)
        rm = request.resource_metrics.add()
        rm.resource.attributes.extend(to_key_values({k: _safe_value(v) for k, v in res.items()}))
        metric = rm.scope_metrics.add().metrics.add(name=name, unit=c.UNITS.get(name, "1"))
        if name in (c.M_AI_LINES, c.M_AI_ACCEPTED):
            metric.sum.CopyFrom(Sum(aggregation_temporality=2, is_monotonic=True))
            series = metric.sum.data_points
        else:
            metric.gauge.CopyFrom(Gauge())
            series = metric.gauge.data_points
        attrs: dict[str, Any] = {c.ATTR_AI_TOOL: "copilot"} if name != c.M_ACTIVE_HOURS else {}
        if name == c.M_COMMITS:
            attrs[c.ATTR_REPOSITORY] = "r"
        if date is not None:
            attrs[c.ATTR_DATE] = date
        attrs.update({f"x.{n}": n for n in range(attrs_count)})
        for p in range(points):
            point = NumberDataPoint(time_unix_nano=time_ns, start_time_unix_nano=max(0, time_ns - 10**9 - p))
            point.attributes.extend(to_key_values({k: _safe_value(v) for k, v in attrs.items()}))
            if isinstance(value, int) and -(2**63) <= value < 2**63:
                point.as_int = value
            else:
                point.as_double = float(value)
            series.append(point)
    return request


def _logs(rng: random.Random, tag: str, case: Case) -> ExportLogsServiceRequest:
    resource = _resource(tag)
    event = rng.choice([c.E_DAY_SUMMARY, c.E_HEARTBEAT, c.E_FIRST_SEEN])
    body: Any = _summary(tag)
    attrs: dict[str, Any] = {c.ATTR_DATE: "2026-03-02"}
    if event != c.E_DAY_SUMMARY:
        body = None
        attrs = {
            "install_id": f"{tag}inst",
            "app_version": "1",
            "platform": "linux",
            "heartbeat_at": "2026-03-02T10:00:00Z",
        }
    time_ns = 1772442000 * 10**9
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["user", "date", "time", "free_json", "moment", "body_shape", "attr_text"])
        case.mutations.append(kind)
        if kind == "user":
            choice = rng.choice([*TEXTS, None])
            if choice is None:
                resource.pop(c.RES_DEVELOPER_ID, None)
            else:
                resource[c.RES_DEVELOPER_ID] = tag + choice if choice else choice
        elif kind == "date":
            attrs[c.ATTR_DATE] = rng.choice(DATES)
        elif kind == "time":
            time_ns = rng.choice(TIMES_NS)
        elif kind == "free_json" and isinstance(body, dict):
            where = rng.choice([c.BODY_GIT_ACTIVITY, c.BODY_PROJECT_CONTEXT])
            extra = rng.choice(FREE_OTLP_JSON)
            body[where] = (
                {"repositories": [], "extra": extra}
                if where == c.BODY_GIT_ACTIVITY
                else [{"name": "r", "extra": extra}]
            )
        elif kind == "moment":
            attrs[rng.choice(["heartbeat_at", "first_seen_at", "last_seen_at"])] = rng.choice(MOMENTS)
        elif kind == "body_shape" and isinstance(body, dict):
            body[c.BODY_ACTIVE_CLOCK_HOURS] = rng.choice([[-1], [2**62], ["x"], list(range(100_000))])
        elif kind == "attr_text":
            attrs[rng.choice(["app_version", "platform", "install_id"])] = rng.choice(TEXTS)
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.extend(to_key_values(resource))
    record = LogRecord(time_unix_nano=time_ns, event_name=event)
    if body is not None:
        record.body.CopyFrom(to_any_value(_safe_json(body)))
    record.attributes.extend(to_key_values({k: _safe_value(v) for k, v in attrs.items()}))
    rl.scope_logs.add().log_records.append(record)
    return request


def _safe_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _safe_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe_json(v) for v in value]
    return _safe_value(value)


def otlp_cases(target: Target, count: int, seed: int = 17) -> Iterator[Case]:
    rng = random.Random(seed)
    for index in range(count):
        tag = f"o{index:06d}-"
        path = rng.choice(["/v1/metrics", "/v1/logs"])
        case = Case(path, b"", {**target.bearer()}, tag)
        build: Callable[..., Any] = _metrics if path == "/v1/metrics" else _logs
        message = build(rng, tag, case)
        if rng.random() < 0.3:
            case.headers["Content-Type"] = "application/json"
            case.body = json_format.MessageToJson(message).encode()
        else:
            case.headers["Content-Type"] = "application/x-protobuf"
            case.body = message.SerializeToString()
        if rng.random() < 0.1:
            case.mutations.append("auth")
            case.headers["Authorization"] = rng.choice(
                ["", "Basic " + base64.b64encode(b"\xd9\xa1:" + target.api_key.encode()).decode()]
            )
        _mutate_bytes(rng, case)
        yield case


@functools.cache
def _bomb() -> bytes:
    """40 MiB of zeros in about 40 KB of gzip: past every body limit once inflated."""
    return gzip.compress(b"\x00" * (40 << 20), 9)


def _mutate_bytes(rng: random.Random, case: Case) -> None:
    """Byte-level damage and encodings, on a share of the cases."""
    roll = rng.random()
    if roll < 0.08:
        case.mutations.append("flip")
        data = bytearray(case.body)
        for _ in range(rng.randint(1, 8)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        case.body = bytes(data)
    elif roll < 0.12:
        case.mutations.append("truncate")
        case.body = case.body[: rng.randrange(len(case.body) + 1)]
    if rng.random() < 0.35:
        encoding = rng.choice(["gzip", "deflate", "broken-gzip", "br", "bomb"])
        case.mutations.append(encoding)
        if encoding == "gzip":
            case.body = gzip.compress(case.body, 1)
        elif encoding == "deflate":
            case.body = zlib.compress(case.body, 1)
        elif encoding == "broken-gzip":
            case.body = gzip.compress(case.body, 1)[:-6]
            encoding = "gzip"
        elif encoding == "bomb":
            case.body = _bomb()
            encoding = "gzip"
        case.headers["Content-Encoding"] = encoding
    if rng.random() < 0.03:
        case.mutations.append("content-type")
        case.headers["Content-Type"] = rng.choice(
            ["text/plain", "application/xml", "application/json; charset=latin-1"]
        )


# --- after a run ---------------------------------------------------------------------------------
TAGGED_COLUMNS = {
    "_tool_developer_metrics": "developer_id",
    "_tool_developer_command_stats": "developer_id",
    "_tool_developer_ai_metrics": "developer_id",
    "_devtel_ai_points": "developer_id",
    "_devtel_installs": "install_id",
    "_devtel_install_days": "install_id",
}


def rows_by_tag(engine: sa.engine.Engine) -> dict[str, int]:
    """Rows per case tag (the id's prefix up to and including the first '-'), over every table."""
    found: dict[str, int] = {}
    inspector = sa.inspect(engine)
    with engine.connect() as conn:
        for table, column in TAGGED_COLUMNS.items():
            if not inspector.has_table(table) or column not in {
                col["name"] for col in inspector.get_columns(table)
            }:
                continue
            for (value,) in conn.execute(sa.text(f"SELECT {column} FROM {table}")):
                tag = str(value).split("-", 1)[0] + "-"
                found[tag] = found.get(tag, 0) + 1
    return found


async def send_cases(url: str, cases: Iterator[Case], clients: int, verify: Any = True) -> dict[str, int]:
    """Status per case tag, sent by ``clients`` concurrent clients (so requests share group
    commits); 0 when the connection closed before an answer was read (an early
    401/413 while a large body was still being sent)."""
    statuses: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=url, timeout=120, verify=verify) as client:

        async def worker() -> None:
            for case in cases:
                try:
                    answer = await client.post(case.path, content=case.body, headers=case.headers)
                except httpx.TransportError:
                    statuses[case.tag] = 0
                    continue
                statuses[case.tag] = answer.status_code

        await asyncio.gather(*(worker() for _ in range(clients)))
    return statuses
