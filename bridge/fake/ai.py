"""The fake team's AI assistant use, as devtel's own full-day gauges (`devtel-agent ai record`):
several tools, languages and features per developer-day, suggestions accepted and rejected, lines and
waiting time; and, for its Codex users, Codex's own turn and model-request counters as Codex sends
them (delta sums), which no gauge carries. Deterministic for a seed, so a demo shows the same AI
dashboard every time."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Sequence

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    Gauge,
    NumberDataPoint,
    ResourceMetrics,
    Sum,
)

from agent import contract as c
from bridge.fake.team import FakeDay
from bridge.mapping.otlp_values import to_key_values

# tool: (share of developers using it, acceptance rate)
TOOLS = {"claude_code": (0.6, 0.7), "gemini_cli": (0.4, 0.55), "codex": (0.3, 0.6), "copilot": (0.7, 0.35)}
LANGUAGES = ("python", "typescript", "go", "java", "rust")
FEATURES = ("agent", "completion", "chat", "test")
SECONDS_WAITED_PER_SUGGESTION = (2.0, 9.0)
CODEX = "codex"
CODEX_SERVICE = "codex_exec"  # the service.name of `codex exec`
CODEX_TURNS, CODEX_API_REQUESTS = "codex.conversation.turn.count", "codex.api_request"
TURNS_PER_DAY = (2, 15)
API_REQUESTS_PER_TURN = (1, 6)  # a turn calls the model once per tool round trip
_DAYS_PER_REQUEST = 50


def _uses(developer: str, seed: int) -> list[str]:
    rng = random.Random(f"{seed}:{developer}")
    return [tool for tool, (share, _) in TOOLS.items() if rng.random() < share] or ["copilot"]


def _points(day: FakeDay, tools: Sequence[str], rng: random.Random) -> list[tuple[str, int | float, dict]]:
    points: list[tuple[str, int | float, dict]] = []
    for tool in tools:
        rate = TOOLS[tool][1]
        for language in rng.sample(LANGUAGES, 2):
            shown = rng.randint(3, 40)
            accepted = sum(rng.random() < rate for _ in range(shown))
            attrs = {
                c.ATTR_DATE: day.row.date.isoformat(),
                c.ATTR_AI_TOOL: tool,
                c.ATTR_AI_LANGUAGE: language,
                c.ATTR_AI_FEATURE: "agent" if tool != "copilot" else rng.choice(FEATURES[1:]),
            }
            points += [
                (c.M_AI_SHOWN, shown, attrs),
                (c.M_AI_ACCEPTED, accepted, attrs),
                (c.M_AI_LINES, accepted * rng.randint(2, 12), attrs),
                (c.M_AI_WAIT, round(shown * rng.uniform(*SECONDS_WAITED_PER_SUGGESTION), 1), attrs),
            ]
    return points


def _codex_counters(rm: ResourceMetrics, days: Sequence[FakeDay], seed: int) -> None:
    """Each day's turns and API requests as one delta point at noon UTC: an interval of its own, so a
    repeated fake run adds nothing."""
    rm.resource.attributes.extend(
        to_key_values({c.RES_SERVICE_NAME: CODEX_SERVICE, c.RES_DEVELOPER_ID: days[0].row.developer_id})
    )
    scope = rm.scope_metrics.add()
    sums = {
        name: scope.metrics.add(
            name=name,
            sum=Sum(
                aggregation_temporality=AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA,
                is_monotonic=True,
            ),
        ).sum
        for name in (CODEX_TURNS, CODEX_API_REQUESTS)
    }
    for day in days:
        rng = random.Random(f"{seed}:{CODEX}:{day.install_id}:{day.row.date}")
        noon = dt.datetime.combine(day.row.date, dt.time(12), dt.UTC)
        end_ns = int(noon.timestamp()) * 10**9
        turns = rng.randint(*TURNS_PER_DAY)
        requests = sum(rng.randint(*API_REQUESTS_PER_TURN) for _ in range(turns))
        for name, value in ((CODEX_TURNS, turns), (CODEX_API_REQUESTS, requests)):
            sums[name].data_points.append(
                NumberDataPoint(
                    start_time_unix_nano=end_ns - 3600 * 10**9, time_unix_nano=end_ns, as_int=value
                )
            )


def ai_requests(days: Sequence[FakeDay], seed: int) -> list[bytes]:
    """ExportMetricsServiceRequests of the team's AI use, one resource per install, days in chunks."""
    by_install: dict[str, list[FakeDay]] = defaultdict(list)
    for day in days:
        by_install[day.install_id].append(day)
    requests = []
    stamp = time.time_ns()
    for install_id, install_days in sorted(by_install.items()):
        for start in range(0, len(install_days), _DAYS_PER_REQUEST):
            chunk = install_days[start : start + _DAYS_PER_REQUEST]
            request = ExportMetricsServiceRequest()
            rm = request.resource_metrics.add()
            resource = {
                c.RES_SERVICE_NAME: c.SERVICE_NAME,
                c.RES_INSTANCE_ID: install_id,
                c.RES_DEVELOPER_ID: chunk[0].row.developer_id,
            }
            rm.resource.attributes.extend(to_key_values(resource))
            scope = rm.scope_metrics.add()
            metrics = {
                name: scope.metrics.add(name=name, unit=unit, gauge=Gauge())
                for name, unit in c.AI_UNITS.items()
            }
            for day in chunk:
                rng = random.Random(f"{seed}:{install_id}:{day.row.date}")
                for name, value, attrs in _points(day, _uses(day.row.developer_id, seed), rng):
                    point = NumberDataPoint(time_unix_nano=stamp, attributes=to_key_values(attrs))
                    if isinstance(value, int):
                        point.as_int = value
                    else:
                        point.as_double = value
                    metrics[name].gauge.data_points.append(point)
            codex_days = [d for d in chunk if CODEX in _uses(d.row.developer_id, seed)]
            if codex_days:
                _codex_counters(request.resource_metrics.add(), codex_days, seed)
            requests.append(request.SerializeToString())
    return requests
