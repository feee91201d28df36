"""The agent as a local OTLP relay: AI tools (Claude Code, Gemini CLI, anything with an OTLP
exporter) point at 127.0.0.1 and their data takes the agent's path out.

What a tool sends passes the same gate as the agent's own data: below detailed consent it is
dropped and nothing is stored. Otherwise content is stripped first (prompts, responses, tool
arguments and output, file paths, error text, every log body), identity is replaced by the
agent's own (named or pseudonymous, as the policy says), and only then is the request written
to the durable outbox, from which the senders ship it. Traces are not relayed: spans of these
tools carry prompts and tool input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from agent import contract as C
from agent import emit
from agent.consent import DETAILED
from agent.pipeline import Agent

KIND_RELAY = "relay"
# Attribute names (the last dotted part) that hold content, never a count or a category.
CONTENT_NAMES = frozenset(
    {
        "prompt",
        "prompts",
        "response",
        "response_text",
        "completion",
        "content",
        "text",
        "body",
        "message",
        "input",
        "output",
        "args",
        "arguments",
        "function_args",
        "tool_input",
        "tool_output",
        "tool_parameters",
        "tool_result",
        "result",
        "error",
        "error_message",
        "stack",
        "stacktrace",
        "command",
        "cwd",
        "path",
        "file_path",
        "filepath",
        "file",
        "url",
        "query",
        "diff",
        "patch",
    }
)
# Who the data is about is the agent's business: the tools' own identity attributes go.
IDENTITY_KEYS = frozenset(
    {"user.id", "user.email", "user.account_uuid", "user.name", "user.full_name", "host.name", "host.id"}
)


def is_content(key: str) -> bool:
    """Content by name: a known content attribute, or anything about a prompt but its length or id."""
    last = key.rsplit(".", 1)[-1].lower()
    if last in CONTENT_NAMES:
        return True
    return "prompt" in last and not last.endswith(("_length", "_id", "_count"))


def _scrub(pairs: Any) -> None:
    """Remove content and identity attributes in place, and content nested in key-value lists."""
    keep = [kv for kv in pairs if not is_content(kv.key) and kv.key not in IDENTITY_KEYS]
    for kv in keep:
        _scrub_value(kv.value)
    del pairs[:]
    pairs.extend(keep)


def _scrub_value(value: AnyValue) -> None:
    kind = value.WhichOneof("value")
    if kind == "kvlist_value":
        _scrub(value.kvlist_value.values)
    elif kind == "array_value":
        for item in value.array_value.values:
            _scrub_value(item)


def _stamp(resource_attrs: Any, identity: dict[str, str]) -> None:
    _scrub(resource_attrs)
    resource_attrs.extend(KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in identity.items())


def _data_points(metric: Any) -> Iterable[Any]:
    kind = metric.WhichOneof("data")
    return getattr(metric, kind).data_points if kind else ()


def clean_metrics(request: ExportMetricsServiceRequest, identity: dict[str, str]) -> None:
    for rm in request.resource_metrics:
        _stamp(rm.resource.attributes, identity)
        for sm in rm.scope_metrics:
            _scrub(sm.scope.attributes)
            for metric in sm.metrics:
                for point in _data_points(metric):
                    _scrub(point.attributes)
                    del point.exemplars[:]  # exemplars carry the filtered attributes and trace ids


def clean_logs(request: ExportLogsServiceRequest, identity: dict[str, str]) -> None:
    for rl in request.resource_logs:
        _stamp(rl.resource.attributes, identity)
        for sl in rl.scope_logs:
            _scrub(sl.scope.attributes)
            for record in sl.log_records:
                record.ClearField("body")  # a free-text line: the prompt, the error, the output
                record.trace_id, record.span_id = b"", b""
                _scrub(record.attributes)


class Relay:
    """Takes one decoded request from a transport, decides, cleans, and commits it to the outbox."""

    def __init__(self, agent: Agent, wake: Callable[[], None]) -> None:
        self._agent = agent
        self._wake = wake

    def _identity(self) -> dict[str, str]:
        identity = self._agent.identity()
        return {**identity.resource_attributes(), C.RES_INSTANCE_ID: self._agent.state.install_id()}

    def accept(self, signal: str, request: Message) -> tuple[int, str]:
        """Store the request if consent allows; returns (items dropped, why) for partial_success."""
        if signal not in ("metrics", "logs"):
            return 0, ""  # traces: accepted so the tool stays quiet, never stored
        items = _count(signal, request)
        if not items:
            return 0, ""  # an empty export: nothing to keep
        if not self._agent.consent().allows(DETAILED):
            return items, "devtel consent is below detailed: nothing is relayed"
        if isinstance(request, ExportMetricsServiceRequest):
            clean_metrics(request, self._identity())
            export = emit.Export(KIND_RELAY, _key(signal, request), "detailed", metrics=request)
        else:
            clean_logs(request, self._identity())
            export = emit.Export(KIND_RELAY, _key(signal, request), "detailed", logs=request)
        self._agent.enqueue([export])
        self._wake()
        return 0, ""


def _key(signal: str, request: Message) -> str:
    """Deterministic: a tool's retry of the same request replaces the unsent copy."""
    return f"relay:{signal}:{hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()}"


def _count(signal: str, request: Any) -> int:
    if signal == "metrics":
        return sum(
            len(list(_data_points(m)))
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        )
    return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
