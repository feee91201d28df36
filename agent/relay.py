"""The agent as a local OTLP relay: AI tools (Claude Code, Gemini CLI, anything with an OTLP
exporter) point at 127.0.0.1 and their data takes the agent's path out.

What a tool sends passes the same gate as the agent's own data: below detailed consent it is
dropped and nothing is stored. Otherwise only what ``agent/ai_contract.py`` allowlists goes on:
the AI tools' known metrics and events, each with its known attribute keys (counts and
categories, never a prompt, a path, an argument or a model's reasoning); every log body goes, and
the tool's identity is replaced by the agent's own (named or pseudonymous, as the policy says).
Only then is the request written to the durable outbox, from which the senders ship it. A request
with nothing allowlisted (a local app's metrics sent here by mistake) is refused, and so are traces:
spans of these tools carry prompts and tool input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from agent import ai_contract as ai
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
def is_content(key: str) -> bool:
    """Content by name: a known content attribute, or anything about a prompt but its length or id."""
    last = key.rsplit(".", 1)[-1].lower()
    if last in CONTENT_NAMES:
        return True
    return "prompt" in last and not last.endswith(("_length", "_id", "_count"))


class Refused(Exception):
    """A request the relay will not forward at all: nothing in it is a known AI tool's measure."""


def _keep(pairs: Any, allowed: frozenset[str]) -> None:
    """Keep only the allowlisted attributes, and never one whose name says it is content."""
    keep = [kv for kv in pairs if kv.key in allowed and not is_content(kv.key)]
    del pairs[:]
    pairs.extend(keep)


def _stamp(resource_attrs: Any, identity: dict[str, str]) -> None:
    _keep(resource_attrs, ai.RESOURCE_KEYS)
    resource_attrs.extend(KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in identity.items())


def _data_points(metric: Any) -> Iterable[Any]:
    kind = metric.WhichOneof("data")
    return getattr(metric, kind).data_points if kind else ()


def clean_metrics(request: ExportMetricsServiceRequest, identity: dict[str, str]) -> int:
    """Keep the allowlisted metrics with their allowlisted keys; returns the points dropped."""
    dropped = 0
    for rm in request.resource_metrics:
        _stamp(rm.resource.attributes, identity)
        for sm in rm.scope_metrics:
            del sm.scope.attributes[:]
            kept = []
            for metric in sm.metrics:
                allowed = ai.allowed_point_keys(metric.name)
                if allowed is None:
                    dropped += len(list(_data_points(metric)))
                    continue
                metric.description = ""
                for point in _data_points(metric):
                    _keep(point.attributes, allowed)
                    del point.exemplars[:]  # exemplars carry the filtered attributes and trace ids
                kept.append(metric)
            del sm.metrics[:]
            sm.metrics.extend(kept)
    return dropped


def _event_of(record: Any) -> str:
    """The event's name: Codex puts a source location in event_name and the name in event.name."""
    for kv in record.attributes:
        if kv.key == "event.name":
            return kv.value.string_value
    return record.event_name


def _patch_counts(record: Any) -> None:
    """Codex's apply_patch result carries the whole patch: keep only how many lines it adds and removes."""
    values = {kv.key: kv.value.string_value for kv in record.attributes}
    if values.get("tool_name") != "apply_patch" or "arguments" not in values:
        return
    added, removed = ai.patch_lines(values["arguments"])
    record.attributes.extend(
        [
            KeyValue(key=ai.ATTR_PATCH_LINES_ADDED, value=AnyValue(int_value=added)),
            KeyValue(key=ai.ATTR_PATCH_LINES_REMOVED, value=AnyValue(int_value=removed)),
        ]
    )


def clean_logs(request: ExportLogsServiceRequest, identity: dict[str, str]) -> int:
    """Keep the allowlisted events with their allowlisted keys; returns the records dropped."""
    dropped = 0
    for rl in request.resource_logs:
        _stamp(rl.resource.attributes, identity)
        for sl in rl.scope_logs:
            del sl.scope.attributes[:]
            kept = []
            for record in sl.log_records:
                name = _event_of(record)
                allowed = ai.allowed_event_keys(name)
                if allowed is None:
                    dropped += 1
                    continue
                _patch_counts(record)
                record.ClearField("body")  # a free-text line: the prompt, the error, the output
                record.event_name = name
                record.trace_id, record.span_id = b"", b""
                _keep(record.attributes, allowed)
                kept.append(record)
            del sl.log_records[:]
            sl.log_records.extend(kept)
    return dropped


class Relay:
    """Takes one decoded request from a transport, decides, cleans, and commits it to the outbox."""

    def __init__(self, agent: Agent, wake: Callable[[], None]) -> None:
        self._agent = agent
        self._wake = wake

    def _identity(self) -> dict[str, str]:
        identity = self._agent.identity()
        return {**identity.resource_attributes(), C.RES_INSTANCE_ID: self._agent.state.install_id()}

    def accept(self, signal: str, request: Message) -> tuple[int, str]:
        """Store what is allowlisted if consent allows; returns (items dropped, why) for
        partial_success. Raises ``Refused`` for traces and for requests with no AI tool's data."""
        if signal not in ("metrics", "logs"):
            raise Refused(
                "the devtel relay takes no traces (AI tools put prompts and tool input on spans): "
                "turn the tool's trace export off"
            )
        items = _count(signal, request)
        if not items:
            return 0, ""  # an empty export: nothing to keep
        from_a_tool = _from_an_ai_tool(request)
        if not self._agent.consent().allows(DETAILED):
            return items, "devtel consent is below detailed: nothing is relayed"
        if isinstance(request, ExportMetricsServiceRequest):
            dropped = clean_metrics(request, self._identity())
            export = emit.Export(KIND_RELAY, _key(signal, request), "detailed", metrics=request)
        else:
            dropped = clean_logs(request, self._identity())
            export = emit.Export(KIND_RELAY, _key(signal, request), "detailed", logs=request)
        if dropped == items:
            if not from_a_tool:
                raise Refused(
                    f"none of these {signal} is a known AI tool's (docs/ai.md lists them): "
                    "the devtel relay forwards no other application's telemetry"
                )
            return dropped, "not on the devtel relay's allowlist of AI tool measures"
        self._agent.enqueue([export])
        self._wake()
        return dropped, "not on the devtel relay's allowlist of AI tool measures" if dropped else ""


def _from_an_ai_tool(request: Any) -> bool:
    """A request of a known AI tool (by its service.name), which may hold nothing worth relaying
    (Gemini CLI's start-up timings alone): that is answered 200, not refused like another app's."""
    resources = getattr(request, "resource_metrics", None) or getattr(request, "resource_logs", [])
    return any(
        kv.key == C.RES_SERVICE_NAME and kv.value.string_value.startswith(ai.SERVICE_PREFIXES)
        for r in resources
        for kv in r.resource.attributes
    )


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
