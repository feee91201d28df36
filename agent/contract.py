"""The OTLP contract between the agent and the receiver: names, attribute keys, units.

Both sides import this module, so it must import nothing beyond the standard library.
``docs/otlp-mapping.md`` explains every name here and how each becomes a column of
``_tool_developer_metrics``.
"""

from typing import Final

SCHEMA_VERSION: Final = "1"
SERVICE_NAME: Final = "devtel-agent"
INSTRUMENTATION_SCOPE: Final = "devtel"

# --- resource attributes (one set per install) --------------------------------------------
RES_SERVICE_NAME: Final = "service.name"
RES_SERVICE_VERSION: Final = "service.version"
RES_INSTANCE_ID: Final = "service.instance.id"  # the install id, stable across restarts
RES_DEVELOPER_ID: Final = "user.id"  # DevLake's developer_id; a keyed hash when pseudonymous
RES_EMAIL: Final = "user.email"  # named identities only
RES_FULL_NAME: Final = "user.full_name"  # named identities only
RES_HOST_NAME: Final = "host.name"  # a keyed hash when pseudonymous
RES_HOST_ARCH: Final = "host.arch"
RES_OS_TYPE: Final = "os.type"
RES_OS_VERSION: Final = "os.version"
RES_IDENTITY_MODE: Final = "devtel.identity.mode"  # "named" | "pseudonymous"
RES_SCHEMA_VERSION: Final = "devtel.schema.version"

# --- point and record attributes ----------------------------------------------------------
ATTR_DATE: Final = "devtel.date"  # the developer's local calendar date, YYYY-MM-DD
ATTR_REPOSITORY: Final = "vcs.repository.name"
ATTR_LINE_CHANGE_TYPE: Final = "vcs.line_change.type"  # "added" | "removed"
ATTR_TOOL: Final = "devtel.tool"
ATTR_COMMAND_CATEGORY: Final = "devtel.command.category"
ATTR_COMMAND_OUTCOME: Final = "devtel.command.outcome"
ATTR_EXIT_CODE: Final = "process.exit.code"
ATTR_COMMAND_DURATION: Final = "devtel.command.duration_s"  # on devtel.command events
ATTR_COMMAND_ENDED_AT: Final = "devtel.command.ended_at"  # ISO 8601 UTC; tells two alike commands apart
ATTR_SINK: Final = "devtel.sink"
ATTR_RESULT: Final = "devtel.result"
ATTR_RECORD_UID: Final = "log.record.uid"  # deterministic per record, so a receiver can drop duplicates
ATTR_CONSENT_LEVEL: Final = "devtel.consent.level"
ATTR_CONSENT_PREVIOUS: Final = "devtel.consent.previous"

LINE_ADDED: Final = "added"
LINE_REMOVED: Final = "removed"

COMMAND_CATEGORIES: Final = ("test", "build", "install", "vcs", "other")
COMMAND_OUTCOMES: Final = ("success", "failure", "interrupted")

# --- metrics: gauges carrying full-day totals, one point per (date, attributes) -----------
# A gauge, not a counter: every export re-sends the whole day, so a replay or a newer
# snapshot can only replace a value, never add to it.
M_ACTIVE_HOURS: Final = "devtel.activity.active_hours"  # unit h
M_ACTIVE_MINUTES: Final = "devtel.activity.active_minutes"  # unit min
M_COMMITS: Final = "devtel.git.commits"  # unit {commit}; per ATTR_REPOSITORY
M_LINES: Final = "devtel.git.lines"  # unit {line}; per ATTR_REPOSITORY and ATTR_LINE_CHANGE_TYPE
M_FILES_CHANGED: Final = "devtel.git.files_changed"  # unit {file}; per ATTR_REPOSITORY
M_COMMANDS: Final = "devtel.commands"  # unit {command}; per ATTR_COMMAND_CATEGORY
M_TOOL_IN_USE: Final = "devtel.tool.in_use"  # unit 1; value 1 per ATTR_TOOL used that day
M_COMMAND_DURATION: Final = "devtel.command.duration"  # histogram, unit s

UNITS: Final = {
    M_ACTIVE_HOURS: "h",
    M_ACTIVE_MINUTES: "min",
    M_COMMITS: "{commit}",
    M_LINES: "{line}",
    M_FILES_CHANGED: "{file}",
    M_COMMANDS: "{command}",
    M_TOOL_IN_USE: "1",
    M_COMMAND_DURATION: "s",
}

# AI assistant use recorded by devtel itself (`devtel-agent ai record`): gauges of full-day
# totals per ATTR_DATE, ATTR_AI_TOOL, ATTR_AI_LANGUAGE and ATTR_AI_FEATURE, like the day metrics.
M_AI_SHOWN: Final = "devtel.ai.suggestions.shown"  # unit {suggestion}
M_AI_ACCEPTED: Final = "devtel.ai.suggestions.accepted"  # unit {suggestion}
M_AI_LINES: Final = "devtel.ai.lines"  # unit {line}: lines of accepted suggestions
M_AI_WAIT: Final = "devtel.ai.wait_time"  # unit s: time spent waiting for the assistant
ATTR_AI_TOOL: Final = "devtel.ai.tool"
ATTR_AI_LANGUAGE: Final = "devtel.ai.language"
ATTR_AI_FEATURE: Final = "devtel.ai.feature"
AI_FEATURES: Final = ("completion", "chat", "explain", "document", "test", "agent")
AI_UNITS: Final = {
    M_AI_SHOWN: "{suggestion}",
    M_AI_ACCEPTED: "{suggestion}",
    M_AI_LINES: "{line}",
    M_AI_WAIT: "s",
}

# The agent's own cost, so its overhead shows on the same dashboards.
M_AGENT_RSS: Final = "devtel.agent.memory.rss"  # unit By
M_AGENT_CPU: Final = "devtel.agent.cpu.time"  # unit s
M_AGENT_OUTBOX_DEPTH: Final = "devtel.agent.outbox.depth"  # unit {export}
M_AGENT_OUTBOX_AGE: Final = "devtel.agent.outbox.age"  # unit s, age of the oldest unsent export
M_AGENT_SENDS: Final = "devtel.agent.sends"  # unit {send}; per ATTR_SINK and ATTR_RESULT
M_AGENT_OUTBOX_DROPPED: Final = "devtel.agent.outbox.dropped"  # unit {export}; dropped by the size bound

# --- events: log records with event_name --------------------------------------------------
E_DAY_SUMMARY: Final = "devtel.day.summary"  # body: the day's structured parts (see docs)
E_COMMAND: Final = "devtel.command"  # one per command that failed or ran past 10 s
E_CONSENT_GRANTED: Final = "devtel.consent.granted"
E_FIRST_SEEN: Final = "base_telemetry.first_seen"
E_HEARTBEAT: Final = "base_telemetry.heartbeat"

# Keys of the day-summary body (a kvlist); shapes follow DevLake's JSON columns.
BODY_ACTIVE_CLOCK_HOURS: Final = "active_clock_hours"  # epoch seconds of each active local hour
BODY_GIT_ACTIVITY: Final = "git_activity"  # repositories carry "commit_ids" (keyed hashes)
BODY_DEVELOPMENT_ACTIVITY: Final = "development_activity"
BODY_TOOLS_USED: Final = "tools_used"
BODY_PROJECT_CONTEXT: Final = "project_context"
# [{repository, category, tool, outcome, count, total_duration_s, p50_duration_s, p95_duration_s,
#   cpu_time_s, wall_time_s}]: the day's command statistics, never a command line.
BODY_COMMAND_STATS: Final = "command_stats"
COMMAND_STAT_KEYS: Final = ("repository", "category", "tool", "outcome")
COMMAND_STAT_FIGURES: Final = (
    "count",
    "total_duration_s",
    "p50_duration_s",
    "p95_duration_s",
    "cpu_time_s",
    "wall_time_s",
)

# How command categories become keys of DevLake's development_activity column.
_DEVLAKE_COMMAND_KEYS: Final = {"test": "test_runs_detected", "build": "build_commands_detected"}


def devlake_command_key(category: str) -> str:
    """test -> test_runs_detected, build -> build_commands_detected, x -> x_commands_detected."""
    return _DEVLAKE_COMMAND_KEYS.get(category, f"{category}_commands_detected")


def command_category(devlake_key: str) -> str | None:
    """The inverse of devlake_command_key; None for a key that names no category."""
    for category, key in _DEVLAKE_COMMAND_KEYS.items():
        if key == devlake_key:
            return category
    suffix = "_commands_detected"
    return devlake_key.removesuffix(suffix) if devlake_key.endswith(suffix) else None


# Per-repository keys of the day-summary body beyond DevLake's own.
REPO_COMMIT_IDS: Final = "commit_ids"  # keyed hashes of the day's commit ids
REPO_COMMITS_DETAIL: Final = "commits_detail"  # [{id, lines_added, lines_deleted, files_changed}]
# A keyed hash of the repository's identity (normalized origin URL, else root commit): the same
# on every machine whatever the directory layout; the receiver merges repositories by it.
REPO_ID: Final = "id"

# The fixed base-telemetry schema (seed 004); nothing else rides on base events.
BASE_FIELDS: Final = (
    "install_id",
    "app_version",
    "platform",
    "os_version",
    "architecture",
    "locale",
    "timezone",
    "first_seen_at",
    "last_seen_at",
    "heartbeat_at",
    "release_channel",
    "deployment_type",
)
