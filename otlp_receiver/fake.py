"""Sending the fake team: over OTLP or the legacy route to a running receiver, or through the bridge."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from sqlalchemy.engine import Engine
from tqdm import tqdm

from agent import contract as c
from bridge.fake.team import FakeDay, FakeInstall
from bridge.mapping.day import DeveloperDay
from bridge.mapping.legacy import to_flat_report
from bridge.mapping.otlp_mapping import map_logs, map_metrics
from bridge.mapping.otlp_values import to_any_value, to_key_values
from bridge.schema.migrate import ensure_schema
from bridge.store.snapshot_store import store_otlp_in
from bridge.store.upsert import run_in_transaction

REPORT_URL = "{base}/api/rest/plugins/developer_telemetry/connections/{connection}/report"
_DAYS_PER_REQUEST = 50
T = TypeVar("T")


class PostFailed(RuntimeError):
    """The receiver refused a request; the message carries its status and answer."""


def _ns(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1e9)


def day_resource(day: DeveloperDay, install_id: str) -> dict[str, str]:
    """The resource attributes an agent of this install sends with the day."""
    os_type, _, os_version = (day.os_info or "").partition(" ")
    return {
        c.RES_SERVICE_NAME: c.SERVICE_NAME,
        c.RES_INSTANCE_ID: install_id,
        c.RES_DEVELOPER_ID: day.developer_id,
        c.RES_EMAIL: day.email or "",
        c.RES_FULL_NAME: day.name or "",
        c.RES_HOST_NAME: day.hostname or "",
        c.RES_OS_TYPE: os_type,
        c.RES_OS_VERSION: os_version,
        c.RES_IDENTITY_MODE: "named",
    }


def summary_record(day: FakeDay) -> LogRecord:
    """The devtel.day.summary event a real agent sends for this day."""
    row = day.row
    body = {
        c.BODY_ACTIVE_CLOCK_HOURS: list(day.active_clock_hours),
        c.BODY_GIT_ACTIVITY: row.git_activity,
        c.BODY_DEVELOPMENT_ACTIVITY: row.development_activity,
        c.BODY_TOOLS_USED: row.tools_used,
        c.BODY_PROJECT_CONTEXT: row.project_context,
        c.BODY_COMMAND_STATS: list(day.command_stats),
    }
    observed = dt.datetime.combine(row.date, dt.time(23, 30), dt.UTC)
    return LogRecord(
        time_unix_nano=_ns(observed),
        event_name=c.E_DAY_SUMMARY,
        body=to_any_value(body),
        attributes=to_key_values({c.ATTR_DATE: row.date.isoformat()}),
    )


def _base_records(install: FakeInstall) -> list[LogRecord]:
    common = {"install_id": install.install_id, **install.fields}
    return [
        LogRecord(
            time_unix_nano=_ns(install.first_seen_at),
            event_name=c.E_FIRST_SEEN,
            attributes=to_key_values({**common, "first_seen_at": install.first_seen_at.isoformat()}),
        ),
        LogRecord(
            time_unix_nano=_ns(install.heartbeat_at),
            event_name=c.E_HEARTBEAT,
            attributes=to_key_values({**common, "heartbeat_at": install.heartbeat_at.isoformat()}),
        ),
    ]


def otlp_requests(days: Sequence[FakeDay], installs: Sequence[FakeInstall]) -> list[bytes]:
    """Protobuf ExportLogsServiceRequests, one resource per install, a bounded number of days each."""
    by_install: dict[str, list[FakeDay]] = defaultdict(list)
    for day in days:
        by_install[day.install_id].append(day)
    requests = []
    for install_id, install_days in by_install.items():
        for start in range(0, len(install_days), _DAYS_PER_REQUEST):
            chunk = install_days[start : start + _DAYS_PER_REQUEST]
            request = ExportLogsServiceRequest()
            resource_logs = request.resource_logs.add()
            resource_logs.resource.attributes.extend(to_key_values(day_resource(chunk[-1].row, install_id)))
            resource_logs.scope_logs.add().log_records.extend(summary_record(day) for day in chunk)
            requests.append(request.SerializeToString())
    if installs:
        request = ExportLogsServiceRequest()
        for install in installs:
            resource_logs = request.resource_logs.add()
            resource_logs.resource.attributes.extend(to_key_values({c.RES_INSTANCE_ID: install.install_id}))
            resource_logs.scope_logs.add().log_records.extend(_base_records(install))
        requests.append(request.SerializeToString())
    return requests


def _send_all(
    items: Sequence[T], send: Callable[[T], None], *, concurrency: int, progress: bool, unit: str
) -> None:
    with (
        ThreadPoolExecutor(concurrency) as pool,
        tqdm(total=len(items), unit=unit, disable=not progress) as bar,
    ):
        for _ in pool.map(send, items):
            bar.update()


def post_otlp(
    days: Sequence[FakeDay],
    installs: Sequence[FakeInstall],
    *,
    url: str,
    api_key: str,
    ai: Sequence[bytes] = (),
    concurrency: int = 4,
    progress: bool = True,
) -> int:
    """POST the team to /v1/logs (and its AI use to /v1/metrics) as a fleet of agents would; stop at
    the first refusal."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/x-protobuf"}
    base = url.rstrip("/")
    with httpx.Client(headers=headers, timeout=60) as client:

        def send(item: tuple[str, bytes]) -> None:
            target = base + item[0]
            response = client.post(target, content=item[1])
            if response.status_code != 200:
                raise PostFailed(f"{response.status_code} from {target}: {response.text[:500]}")

        requests = [("/v1/logs", body) for body in otlp_requests(days, installs)]
        requests += [("/v1/metrics", body) for body in ai]
        _send_all(requests, send, concurrency=concurrency, progress=progress, unit="request")
    return len(days)


def post_legacy(
    days: Sequence[DeveloperDay],
    *,
    url: str,
    api_key: str,
    connection_id: int,
    concurrency: int = 8,
    progress: bool = True,
) -> int:
    """POST each day as the seed's flat JSON to the legacy route; stop at the first refusal."""
    target = REPORT_URL.format(base=url.rstrip("/"), connection=connection_id)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(headers=headers, timeout=30, limits=limits) as client:

        def send(day: DeveloperDay) -> None:
            response = client.post(target, json=to_flat_report(day))
            if response.status_code != 200:
                raise PostFailed(f"{response.status_code} for {day.developer_id} {day.date}: {response.text}")

        _send_all(days, send, concurrency=concurrency, progress=progress, unit="day")
    return len(days)


def write_team(
    days: Sequence[FakeDay],
    installs: Sequence[FakeInstall],
    engine: Engine,
    *,
    connection_id: int,
    ai: Sequence[bytes] = (),
    progress: bool = True,
) -> int:
    """Write what ``post_otlp`` would send, mapped and stored by the receiver's own code, one
    transaction per request: every table the four dashboards read (day rows, command statistics,
    installs, AI use)."""
    ensure_schema(engine)
    logs = otlp_requests(days, installs)
    results = [map_logs(ExportLogsServiceRequest.FromString(b), connection_id) for b in logs]
    results += [map_metrics(ExportMetricsServiceRequest.FromString(b), connection_id) for b in ai]
    with tqdm(total=len(results), unit="request", desc="writing", disable=not progress) as bar:
        for result in results:
            if result.rejected:
                raise PostFailed(f"the fake team does not map: {result.error_message()}")
            items = result.to_store
            run_in_transaction(engine, lambda conn, items=items: store_otlp_in(conn, items))
            bar.update()
    return len(days)
