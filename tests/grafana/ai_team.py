"""A team's AI assistant use for the dashboard and alert proofs, sent through the real receiver as the
senders send it: six weeks of devtel.ai.* full-day gauges (`devtel-agent ai record`), today's Claude
Code session (real SDK, cumulative) and today's Codex turns and model requests (real SDK, delta).
The tool "cursor" falls under 30% acceptance on the last two days: the case the low-acceptance alert
is for."""

from __future__ import annotations

import datetime as dt
import random
import time

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import Gauge, NumberDataPoint

from agent import contract as c
from bridge.mapping.otlp_values import to_key_values
from tests.support.ai_tools import CUMULATIVE, DELTA, ToolProcess, claude_resource, claude_session

LOW_ACCEPTANCE_TOOL = "cursor"
TOOLS = {"copilot": 0.45, "cursor": 0.4}
LANGUAGES = ("python", "typescript", "go", "java")
FEATURES = ("completion", "chat", "explain", "document", "test")


def _day_request(developer: str, date: dt.date, rng: random.Random) -> bytes:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(
        to_key_values(
            {
                c.RES_SERVICE_NAME: c.SERVICE_NAME,
                c.RES_INSTANCE_ID: f"{developer}-laptop",
                c.RES_DEVELOPER_ID: developer,
            }
        )
    )
    scope = rm.scope_metrics.add()
    metrics = {
        name: scope.metrics.add(name=name, unit=c.AI_UNITS[name], gauge=Gauge())
        for name in (c.M_AI_SHOWN, c.M_AI_ACCEPTED, c.M_AI_LINES)
    }
    low = (dt.datetime.now(dt.UTC).date() - date).days <= 1
    for tool, rate in TOOLS.items():
        if tool == LOW_ACCEPTANCE_TOOL and low:
            rate = 0.15
        for language in rng.sample(LANGUAGES, 2):
            feature = rng.choice(FEATURES)
            shown = rng.randint(15, 60)
            accepted = round(shown * rate)
            attrs = to_key_values(
                {
                    c.ATTR_DATE: date.isoformat(),
                    c.ATTR_AI_TOOL: tool,
                    c.ATTR_AI_LANGUAGE: language,
                    c.ATTR_AI_FEATURE: feature,
                }
            )
            stamp = time.time_ns()
            for name, value in (
                (c.M_AI_SHOWN, shown),
                (c.M_AI_ACCEPTED, accepted),
                (c.M_AI_LINES, accepted * 4),
            ):
                metrics[name].gauge.data_points.append(
                    NumberDataPoint(as_int=value, time_unix_nano=stamp, attributes=attrs)
                )
    return request.SerializeToString()


def ai_requests(developers: int, weeks: int, seed: int) -> list[bytes]:
    """Every developer, every day of the last ``weeks`` weeks up to today (UTC), and one Claude session."""
    rng = random.Random(seed)
    today = dt.datetime.now(dt.UTC).date()
    requests = [
        _day_request(f"ai-dev-{n:02d}", today - dt.timedelta(days=d), rng)
        for n in range(1, developers + 1)
        for d in range(weeks * 7)
    ]
    claude = ToolProcess(claude_resource(), "com.anthropic.claude_code", CUMULATIVE)
    claude_session(claude, "ai-dev-01@example.com", f"session-{seed}")
    requests.append(claude.request())
    claude.close()
    # Codex names no developer itself: the operator's OTEL_RESOURCE_ATTRIBUTES does.
    codex = ToolProcess({"service.name": "codex_exec", "user.id": "ai-dev-02"}, "codex_otel", DELTA)
    codex.add("codex.conversation.turn.count", 3, {"model": "gpt-5.5"})
    codex.add("codex.api_request", 11, {"model": "gpt-5.5", "status": "200", "success": "true"})
    requests.append(codex.request())
    codex.close()
    return requests
