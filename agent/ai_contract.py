"""What devtel takes from the AI coding CLIs: the metric and event names, and the attribute keys each
may keep, of the pinned releases (docs/ai.md). Standard library only: the relay, the receiver's
mapping and the collector-config check all read it, so they cannot drift apart.

An allowlist, not a blocklist: each release of these tools adds attributes (prompts, paths, model
reasoning), and only what is named here is known to be a count or a category.
"""

from __future__ import annotations

from typing import Final

# Codex's events carry an approved patch in full; the relay keeps only its line counts, under these keys.
ATTR_PATCH_LINES_ADDED: Final = "devtel.patch.lines_added"
ATTR_PATCH_LINES_REMOVED: Final = "devtel.patch.lines_removed"

# The attribute naming a token count's kind: Codex's own key; Claude Code and Gemini CLI say "type".
ATTR_CODEX_COUNT_KIND: Final = "token_type"

# The tools' service.name values (Codex's differs per front end: codex_exec, codex_cli_rs, …).
SERVICE_PREFIXES: Final = ("claude-code", "gemini-cli", "codex")

# Attribute keys any tool's resource may keep (the relay then adds devtel's own identity).
RESOURCE_KEYS: Final = frozenset({"service.name", "service.version", "os.type", "os.version", "host.arch"})
# The developer an operator names on a tool's resource (OTEL_RESOURCE_ATTRIBUTES), in the order the
# receiver reads them; a Collector relay, which cannot stamp devtel's identity, keeps these too.
IDENTITY_KEYS: Final = ("user.id", "user.email", "user.account_uuid")
# Keys any point or record of a known tool may keep: who and which session, never content.
COMMON_KEYS: Final = frozenset({"session.id", "model", "app.version", "event.name", "event.timestamp"})

METRICS: Final[dict[str, frozenset[str]]] = {
    "claude_code.session.count": frozenset(),
    "claude_code.lines_of_code.count": frozenset({"type"}),
    "claude_code.code_edit_tool.decision": frozenset({"decision", "source", "tool_name", "language"}),
    "claude_code.token.usage": frozenset({"type"}),
    "claude_code.cost.usage": frozenset(),
    "claude_code.active_time.total": frozenset({"type"}),
    "claude_code.commit.count": frozenset(),
    "claude_code.pull_request.count": frozenset(),
    "gemini_cli.session.count": frozenset(),
    "gemini_cli.tool.call.count": frozenset({"function_name", "success", "decision", "tool_type"}),
    "gemini_cli.token.usage": frozenset({"type"}),
    "gemini_cli.file.operation.count": frozenset({"operation", "lines", "extension", "programming_language"}),
    "gemini_cli.lines.changed": frozenset({"type", "function_name"}),
    "gemini_cli.api.request.count": frozenset({"status_code"}),
    "gemini_cli.api.request.latency": frozenset(),
    "codex.thread.started": frozenset(),
    "codex.conversation.turn.count": frozenset(),
    "codex.api_request": frozenset({"status", "success"}),
    "codex.tool.call": frozenset({"tool", "success"}),
    "codex.turn.token_usage": frozenset({ATTR_CODEX_COUNT_KIND}),
}

_CLAUDE_DECISION = frozenset({"decision", "source", "tool_name"})
_CLAUDE_RESULT = frozenset({"tool_name", "success", "duration_ms", "decision"})
_CLAUDE_REQUEST = frozenset(
    {"input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "cost_usd", "duration_ms"}
)
_CLAUDE_ERROR = frozenset({"status_code", "duration_ms", "attempt"})

EVENTS: Final[dict[str, frozenset[str]]] = {
    # Claude Code names its events in event.name, bare in 2.1.197 and with its prefix in its docs.
    "tool_decision": _CLAUDE_DECISION,
    "claude_code.tool_decision": _CLAUDE_DECISION,
    "tool_result": _CLAUDE_RESULT,
    "claude_code.tool_result": _CLAUDE_RESULT,
    "api_request": _CLAUDE_REQUEST,
    "claude_code.api_request": _CLAUDE_REQUEST,
    "api_error": _CLAUDE_ERROR,
    "claude_code.api_error": _CLAUDE_ERROR,
    "gemini_cli.tool_call": frozenset({"function_name", "success", "decision", "duration_ms", "tool_type"}),
    "gemini_cli.file_operation": frozenset(
        {"tool_name", "operation", "lines", "extension", "programming_language"}
    ),
    "codex.tool_decision": frozenset({"tool_name", "decision", "source", "call_id", "conversation.id"}),
    "codex.tool_result": frozenset(
        {
            "tool_name",
            "call_id",
            "conversation.id",
            "success",
            "duration_ms",
            ATTR_PATCH_LINES_ADDED,
            ATTR_PATCH_LINES_REMOVED,
        }
    ),
}


def allowed_point_keys(name: str) -> frozenset[str] | None:
    """The attribute keys a point of metric ``name`` may keep; None when the metric is not relayed."""
    keys = METRICS.get(name)
    return None if keys is None else keys | COMMON_KEYS


def allowed_event_keys(name: str) -> frozenset[str] | None:
    """The attribute keys an event ``name`` may keep; None when the event is not relayed."""
    keys = EVENTS.get(name)
    return None if keys is None else keys | COMMON_KEYS


def patch_lines(patch: str) -> tuple[int, int]:
    """(added, removed) lines of an apply_patch text: ``+`` and ``-`` lines, never its ``***`` headers."""
    added = removed = 0
    for line in patch.splitlines():
        if line.startswith("***"):
            continue
        if line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return added, removed
