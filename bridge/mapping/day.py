"""One developer's day: the single type every intake path produces and the upsert consumes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeveloperDay:
    """A row of ``_tool_developer_metrics``: full-day values, keyed by the developer's local date.

    ``None`` in a JSON field means "absent", stored as SQL NULL so DevLake's
    ``JSON_EXTRACT``/``IS NOT NULL`` queries read it as missing rather than breaking.
    """

    connection_id: int
    developer_id: str
    date: dt.date
    email: str | None = None
    name: str | None = None
    hostname: str | None = None
    os_info: str | None = None
    active_hours: int = 0
    git_activity: JsonObject | None = None
    development_activity: JsonObject | None = None
    tools_used: list[Any] | None = None
    project_context: list[Any] | None = None

    @property
    def key(self) -> tuple[int, str, dt.date]:
        return (self.connection_id, self.developer_id, self.date)
