"""The agent's activity collectors: git, running tools, file activity, active hours, projects.

Other agent code calls only what is exported here: ``collect_day`` for one local date (the
hourly run), ``backfill`` for the last N days, with a ``CollectorSettings``.
"""

from agent.collectors.collect import ShellSignal, backfill, collect_day
from agent.collectors.errors import (
    CollectorError,
    InvalidArgumentError,
    InvalidSettingsError,
    RepositoryUnreadableError,
    RootNotFoundError,
    StateFileError,
)
from agent.collectors.settings import DEFAULT_TOOL_PATTERNS, CollectorSettings

__all__ = [
    "DEFAULT_TOOL_PATTERNS",
    "CollectorError",
    "CollectorSettings",
    "InvalidArgumentError",
    "InvalidSettingsError",
    "RepositoryUnreadableError",
    "RootNotFoundError",
    "ShellSignal",
    "StateFileError",
    "backfill",
    "collect_day",
]
