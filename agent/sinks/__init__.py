"""Destinations. Each sink renders an export into the payloads it stores in the outbox and
sends one stored payload, answering with an explicit ``SendResult``.

Which answers are retried is decided once, here: 429/502/503/504 and network errors are
retryable; any other non-2xx is a rejection, moved aside with its reason.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, Protocol

from agent.config import SinkConfig
from agent.emit import Export

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    REJECT = "reject"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    reason: str = ""
    retry_after: float | None = None
    answer: str = ""  # the server's answer as the sent log shows it: "HTTP 200", "gRPC OK"


def classify_http(status: int, reason: str, retry_after: float | None) -> SendResult:
    answer = f"HTTP {status}"
    if 200 <= status < 300:
        return SendResult(Outcome.OK, answer=answer)
    if status in RETRYABLE_STATUS:
        return SendResult(Outcome.RETRY, answer, retry_after, answer)
    if 300 <= status < 400:  # never follow a redirect on the ingest path
        return SendResult(Outcome.REJECT, f"{answer}: redirect not followed", answer=answer)
    return SendResult(Outcome.REJECT, f"{answer}: {reason}", answer=answer)


@dataclass(frozen=True)
class Payload:
    signal: str  # "metrics" | "logs" | "report"
    body: bytes


class Sink(Protocol):
    config: SinkConfig

    def render(self, export: Export) -> list[Payload]:
        """The payloads this sink would store for ``export`` (none when it does not carry that kind)."""

    def send(self, payload: Payload) -> SendResult:
        """One attempt; never raises for network trouble."""

    def describe(self, payload: Payload) -> dict[str, Any]:
        """What ``preview`` shows: destination, content type and the body as JSON."""

    def close(self, timeout: float) -> None:
        """Release connections and give fire-and-forget work at most ``timeout`` seconds."""


def build_sink(config: SinkConfig) -> Sink:
    from agent.sinks.devlake import DevLakeSink
    from agent.sinks.otlp_grpc import OtlpGrpcSink
    from agent.sinks.otlp_http import OtlpHttpSink

    if config.type == "devlake":
        return DevLakeSink(config)
    if config.protocol == "grpc":
        return OtlpGrpcSink(config)
    return OtlpHttpSink(config)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Header names with credentials hidden, for preview and status."""
    secret = ("authorization", "api-key", "x-api-key", "token")
    return {k: ("<redacted>" if any(s in k.lower() for s in secret) else v) for k, v in headers.items()}


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
