"""AI assistants' OTLP metrics and events as points for ``_tool_developer_ai_metrics``: pure functions.

Claude Code (``claude_code.*``), Gemini CLI (``gemini_cli.*``) and Codex (``codex.*``) are taken
exactly as the pinned releases send them (docs/ai.md), delta or cumulative; devtel's own
``devtel.ai.*`` are gauges of full-day totals. Each data point (or event) becomes one ``AiPoint`` per
table column it feeds, carrying the stream it belongs to (a hash of metric, column, resource, scope
and point attributes), its interval and how it accumulates. ``bridge/store/ai_store.py`` turns points into
increases; this module only says what a point means. Time saved is never read from a client: the
store computes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent import ai_contract as ai
from agent import contract as c
from bridge.errors import InvalidReport
from bridge.mapping.otlp_values import attributes
from bridge.mapping.validate import count_at, date_at, text_at

DELTA, CUMULATIVE, GAUGE = "delta", "cumulative", "gauge"
_TEMPORALITY = {1: DELTA, 2: CUMULATIVE}  # OTLP AggregationTemporality
CLAUDE, GEMINI, CODEX = "claude_code", "gemini_cli", "codex"
AGENT_FEATURE = "agent"  # what the agentic CLIs do: edits proposed and applied on their own
DEFAULT_FEATURE = "completion"
# Who the developer is, in order. First what the operator (OTEL_RESOURCE_ATTRIBUTES) or devtel's relay
# put on the resource; then the person the tool names on its points; last the tool's install ids
# (Claude Code's point user.id is an anonymous per-device hash, not a person).
RESOURCE_DEVELOPER_KEYS = ai.IDENTITY_KEYS
POINT_DEVELOPER_KEYS = ("user.email", "user.account_uuid", "installation.id", c.RES_DEVELOPER_ID)
MAX_LABEL_CHARS = 64
UNKNOWN_LANGUAGE = "unknown"  # the tool does not say (Claude Code's line counts, Gemini CLI's)
MAX_VALUE = 1e12  # far past any real day; larger is a broken or hostile sender

Measures = Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True, slots=True)
class AiPoint:
    """One data point's contribution to one column of one AI row, before deduplication."""

    connection_id: int
    stream: str
    start_ns: int
    time_ns: int
    kind: str  # DELTA | CUMULATIVE | GAUGE
    value: float
    developer_id: str
    date: dt.date
    tool: str
    language: str
    feature: str
    measure: str

    @property
    def state_key(self) -> tuple[int, str, int]:
        return (self.connection_id, self.stream, self.start_ns)

    @property
    def row_key(self) -> tuple[int, str, dt.date, str, str, str]:
        return (self.connection_id, self.developer_id, self.date, self.tool, self.language, self.feature)


def _always(measure: str) -> Measures:
    return lambda _attrs: [measure]


def _line_type(attrs: dict[str, Any]) -> list[str]:
    kind = attrs.get("type")
    if kind == "added":
        return ["lines_added"]
    if kind == "removed":
        return ["lines_removed"]
    raise InvalidReport("type", f"must be 'added' or 'removed', got {kind!r}")


def _decision(accepted: frozenset[str]) -> Measures:
    """A decision on a proposed edit is a suggestion shown; some decisions also accept it."""

    def measures(attrs: dict[str, Any]) -> list[str]:
        decision = attrs.get("decision")
        if decision is None:
            return []  # a tool call nobody was asked about (a read, a search)
        if not isinstance(decision, str):
            raise InvalidReport("decision", f"must be a string, got {decision!r}")
        shown = ["suggestions_shown"]
        return [*shown, "suggestions_accepted"] if decision in accepted else shown

    return measures


def _types(kinds: frozenset[str], measure: str = "tokens") -> Measures:
    """Only the listed ``type`` values feed ``measure``: Gemini CLI's ``input`` already holds ``cache``."""
    return lambda attrs: [measure] if attrs.get("type", attrs.get(ai.ATTR_CODEX_COUNT_KIND)) in kinds else []


# Gemini CLI's tools that propose a change; reads, searches and shell calls are no suggestion.
GEMINI_PROPOSALS = frozenset({"write_file", "replace", "edit"})
GEMINI_ACCEPTED = frozenset({"accept", "auto_accept", "modify"})  # a modified proposal was taken
GEMINI_WRITES = frozenset({"create", "update"})  # file operations that wrote a proposed file


def _gemini_call(attrs: dict[str, Any]) -> list[str]:
    """A proposed change decided on. An accepted ``write_file`` is counted from its file operation
    instead, the only metric that names its language; a refused one (rejected, or blocked by a hook,
    which sends no decision) is shown and not accepted, in language unknown."""
    function = attrs.get("function_name")
    if function not in GEMINI_PROPOSALS:
        return []
    accepted = attrs.get("decision") in GEMINI_ACCEPTED
    if function == "write_file" and accepted:
        return []
    return ["suggestions_shown", "suggestions_accepted"] if accepted else ["suggestions_shown"]


def _gemini_write(attrs: dict[str, Any]) -> list[str]:
    if attrs.get("operation") in GEMINI_WRITES:
        return ["suggestions_shown", "suggestions_accepted"]
    return []  # a read: no suggestion


@dataclass(frozen=True, slots=True)
class _Rule:
    tool: str | None  # None: the point's devtel.ai.tool attribute names it
    measures: Measures
    language_key: str
    scale: float = 1.0


_RULES: dict[str, _Rule] = {
    "claude_code.session.count": _Rule(CLAUDE, _always("sessions"), "language"),
    "claude_code.lines_of_code.count": _Rule(CLAUDE, _line_type, "language"),
    "claude_code.code_edit_tool.decision": _Rule(CLAUDE, _decision(frozenset({"accept"})), "language"),
    # Claude Code's input excludes cache reads and creations: all four kinds add up to its total.
    "claude_code.token.usage": _Rule(CLAUDE, _always("tokens"), "language"),
    "claude_code.cost.usage": _Rule(CLAUDE, _always("cost_usd"), "language"),
    "claude_code.commit.count": _Rule(CLAUDE, _always("commits"), "language"),
    "claude_code.pull_request.count": _Rule(CLAUDE, _always("pull_requests"), "language"),
    "claude_code.active_time.total": _Rule(CLAUDE, _always("active_s"), "language"),
    "gemini_cli.session.count": _Rule(GEMINI, _always("sessions"), "programming_language"),
    "gemini_cli.tool.call.count": _Rule(GEMINI, _gemini_call, "programming_language"),
    "gemini_cli.file.operation.count": _Rule(GEMINI, _gemini_write, "programming_language"),
    "gemini_cli.lines.changed": _Rule(GEMINI, _line_type, "programming_language"),
    "gemini_cli.token.usage": _Rule(
        GEMINI, _types(frozenset({"input", "output", "thought", "tool"})), "programming_language"
    ),
    # One per request to the model API (the model router's too), by status code.
    "gemini_cli.api.request.count": _Rule(GEMINI, _always("api_requests"), "programming_language"),
    # A histogram in milliseconds: its sum is the time spent waiting for the model.
    "gemini_cli.api.request.latency": _Rule(GEMINI, _always("wait_s"), "programming_language", 0.001),
    "codex.thread.started": _Rule(CODEX, _always("sessions"), "language"),
    # One per turn the agent ran (a prompt answered, however many model calls it took).
    "codex.conversation.turn.count": _Rule(CODEX, _always("turns"), "language"),
    # One per request to the model API, by HTTP status: failed and retried requests count too.
    "codex.api_request": _Rule(CODEX, _always("api_requests"), "language"),
    # A histogram per turn by token_type; "total" is input (cached included) plus output.
    "codex.turn.token_usage": _Rule(CODEX, _types(frozenset({"total"})), "language"),
    c.M_AI_SHOWN: _Rule(None, _always("suggestions_shown"), c.ATTR_AI_LANGUAGE),
    c.M_AI_ACCEPTED: _Rule(None, _always("suggestions_accepted"), c.ATTR_AI_LANGUAGE),
    c.M_AI_LINES: _Rule(None, _always("lines_added"), c.ATTR_AI_LANGUAGE),
    c.M_AI_WAIT: _Rule(None, _always("wait_s"), c.ATTR_AI_LANGUAGE),
}


def is_mapped(name: str) -> bool:
    """An AI metric this table uses; the tools' others (commit counts, tool latencies) are ignored."""
    return name in _RULES


def developer_of(resource: dict[str, Any], attrs: dict[str, Any]) -> str:
    """The operator's (or devtel relay's) identity on the resource wins over any the tool puts on
    its points; among those a person (email, account) wins over an install or device id."""
    for where, keys in (("resource", RESOURCE_DEVELOPER_KEYS), ("point", POINT_DEVELOPER_KEYS)):
        found = resource if where == "resource" else attrs
        for key in keys:
            value = found.get(key)
            if value not in (None, ""):
                return text_at(value, key)
    raise InvalidReport(
        "resource",
        f"names no developer: one of {', '.join(RESOURCE_DEVELOPER_KEYS)} (set OTEL_RESOURCE_ATTRIBUTES)"
        f" or a point's {', '.join(POINT_DEVELOPER_KEYS)} is required",
    )


def _label(value: Any, key: str) -> str:
    return "" if value in (None, "") else text_at(value, key, max_chars=MAX_LABEL_CHARS).strip().lower()


def _feature(rule: _Rule, attrs: dict[str, Any]) -> str:
    if rule.tool is not None:
        return AGENT_FEATURE
    feature = _label(attrs.get(c.ATTR_AI_FEATURE), c.ATTR_AI_FEATURE) or DEFAULT_FEATURE
    if feature not in c.AI_FEATURES:
        raise InvalidReport(c.ATTR_AI_FEATURE, f"{feature!r} is not one of {', '.join(c.AI_FEATURES)}")
    return feature


def _tool(rule: _Rule, attrs: dict[str, Any]) -> str:
    if rule.tool is not None:
        return rule.tool
    tool = _label(attrs.get(c.ATTR_AI_TOOL), c.ATTR_AI_TOOL)
    if not tool:
        raise InvalidReport(c.ATTR_AI_TOOL, "is required")
    return tool


def _date(attrs: dict[str, Any], time_ns: int) -> dt.date:
    """The developer's local date when the sender (devtel) says it, else the UTC date of the point;
    never days ahead of now (a local date may be a day ahead of UTC), which only a broken clock sends."""
    if attrs.get(c.ATTR_DATE) is not None:
        date = date_at(attrs[c.ATTR_DATE], c.ATTR_DATE)
    elif time_ns <= 0:
        raise InvalidReport("time_unix_nano", "is required")
    else:
        date = dt.datetime.fromtimestamp(time_ns / 1e9, dt.UTC).date()
    if date > dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1):
        raise InvalidReport("date", f"{date} is in the future")
    return date


def _value(point: Any, kind: str, scale: float) -> float:
    if kind == "histogram":
        if not point.HasField("sum"):
            raise InvalidReport("sum", "a histogram point without a sum says nothing about time")
        raw: float = point.sum
    else:
        raw = point.as_int if point.WhichOneof("value") == "as_int" else point.as_double
    if not math.isfinite(raw) or not 0 <= raw <= MAX_VALUE:
        raise InvalidReport("value", f"must be a number from 0 to {MAX_VALUE:g}, got {raw!r}")
    return raw * scale


def _stream(name: str, measure: str, resource_text: str, scope: str, attrs: dict[str, Any]) -> str:
    identity = json.dumps([name, measure, resource_text, scope, sorted(attrs.items())], default=str)
    return hashlib.sha256(identity.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MetricContext:
    """What every point of one metric shares."""

    connection_id: int
    resource: dict[str, Any]
    resource_text: str  # the resource as canonical JSON, part of every stream's identity
    scope: str


def context(connection_id: int, resource: dict[str, Any], scope: str) -> MetricContext:
    return MetricContext(connection_id, resource, json.dumps(sorted(resource.items()), default=str), scope)


def metric_points(ctx: MetricContext, metric: Any) -> tuple[list[AiPoint], list[str]]:
    """Every usable point of one mapped metric, and a message for each point that was not."""
    rule = _RULES[metric.name]
    kind = metric.WhichOneof("data")
    if kind == "gauge":
        temporality = GAUGE
    elif kind in ("sum", "histogram"):
        temporality = _TEMPORALITY.get(getattr(metric, kind).aggregation_temporality, "")
    else:
        count = len(getattr(metric, kind).data_points) if kind else 0
        return [], [f"{metric.name}: a {kind} cannot feed the AI table"] * count
    points: list[AiPoint] = []
    errors: list[str] = []
    for point in getattr(metric, kind).data_points:
        try:
            if not temporality:
                raise InvalidReport("aggregation_temporality", "must be delta or cumulative")
            points.extend(_points_of(ctx, metric.name, rule, kind, temporality, point))
        except InvalidReport as exc:
            errors.append(f"{metric.name}: {exc}")
    return points, errors


@dataclass(frozen=True, slots=True)
class _Where:
    """What every point one data point (or event) yields shares: interval, kind, row."""

    start_ns: int
    time_ns: int
    kind: str
    developer: str
    date: dt.date
    row: tuple[str, str, str]  # tool, language, feature


def _point(
    ctx: MetricContext, name: str, stream_attrs: dict[str, Any], where: _Where, measure: str, value: float
) -> AiPoint:
    stream = _stream(name, measure, ctx.resource_text, ctx.scope, stream_attrs)
    return AiPoint(
        ctx.connection_id, stream, where.start_ns, where.time_ns, where.kind, value,
        where.developer, where.date, *where.row, measure,
    )


def _points_of(
    ctx: MetricContext, name: str, rule: _Rule, kind: str, temporality: str, point: Any
) -> list[AiPoint]:
    attrs = attributes(point.attributes)
    value = _value(point, kind, rule.scale)
    time_ns = int(point.time_unix_nano)
    date = _date(attrs, time_ns)
    developer = developer_of(ctx.resource, attrs)
    tool, feature = _tool(rule, attrs), _feature(rule, attrs)
    language = _label(attrs.get(rule.language_key), rule.language_key) or UNKNOWN_LANGUAGE
    # A gauge is one day's total: the date is part of its stream, so each day is replaced on its own.
    start_ns = 0 if temporality == GAUGE else int(point.start_time_unix_nano)
    if temporality == DELTA and start_ns == 0:
        start_ns = time_ns
    stream_attrs = {**attrs, c.ATTR_DATE: date.isoformat()} if temporality == GAUGE else attrs
    where = _Where(start_ns, time_ns, temporality, developer, date, (tool, language, feature))
    return [_point(ctx, name, stream_attrs, where, measure, value) for measure in rule.measures(attrs)]


# Codex's approvals of a patch: its events are the only place it reports an edit and its lines.
CODEX_EDIT_TOOL = "apply_patch"
CODEX_APPROVED = frozenset({"approved", "approved_for_session", "approved_execpolicy_amendment"})
CODEX_EVENTS = frozenset({"codex.tool_decision", "codex.tool_result"})


def mapped_event(name: str, attrs: dict[str, Any]) -> str | None:
    """The AI event a record is, if any: Codex puts a source location in the record's event_name
    and the event's real name in its ``event.name`` attribute."""
    for candidate in (name, attrs.get("event.name")):
        if candidate in CODEX_EVENTS:
            return str(candidate)
    return None


def _event_time(record: Any, attrs: dict[str, Any]) -> int:
    """Codex leaves time_unix_nano at 0: its event.timestamp, else the time the SDK observed it."""
    stamp = attrs.get("event.timestamp")
    if isinstance(stamp, str) and stamp:
        try:
            when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidReport("event.timestamp", f"is not an ISO 8601 time: {stamp!r}") from exc
        return int(when.timestamp() * 1e9)
    return int(record.time_unix_nano or record.observed_time_unix_nano)


def _patch_lines(attrs: dict[str, Any]) -> tuple[float, float]:
    """The relay sends the counts; a direct export still has the patch itself."""
    if ai.ATTR_PATCH_LINES_ADDED in attrs or ai.ATTR_PATCH_LINES_REMOVED in attrs:
        return (
            float(count_at(attrs.get(ai.ATTR_PATCH_LINES_ADDED, 0), ai.ATTR_PATCH_LINES_ADDED)),
            float(count_at(attrs.get(ai.ATTR_PATCH_LINES_REMOVED, 0), ai.ATTR_PATCH_LINES_REMOVED)),
        )
    patch = attrs.get("arguments")
    return tuple(map(float, ai.patch_lines(patch))) if isinstance(patch, str) else (0.0, 0.0)  # type: ignore[return-value]


def _codex_measures(name: str, attrs: dict[str, Any]) -> list[tuple[str, float]]:
    if attrs.get("tool_name") != CODEX_EDIT_TOOL:
        return []  # a shell command, a read: no suggestion
    if name == "codex.tool_decision":
        shown = [("suggestions_shown", 1.0)]
        return [*shown, ("suggestions_accepted", 1.0)] if attrs.get("decision") in CODEX_APPROVED else shown
    if str(attrs.get("success")).lower() != "true":
        return []  # a patch that did not apply wrote nothing
    added, removed = _patch_lines(attrs)
    return [("lines_added", added), ("lines_removed", removed)]


def event_points(ctx: MetricContext, name: str, record: Any, attrs: dict[str, Any]) -> list[AiPoint]:
    """A Codex event as delta points, one stream per call, so a replayed event adds nothing."""
    measures = _codex_measures(name, attrs)
    if not measures:
        return []
    time_ns = _event_time(record, attrs)
    date = _date({}, time_ns)
    developer = developer_of(ctx.resource, attrs)
    call = {k: attrs.get(k) for k in ("conversation.id", "call_id")}
    where = _Where(time_ns, time_ns, DELTA, developer, date, (CODEX, UNKNOWN_LANGUAGE, AGENT_FEATURE))
    return [_point(ctx, name, call, where, measure, value) for measure, value in measures]
