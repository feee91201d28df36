"""A day's command statistics: validated from the summary event and merged across installs.

Counts, durations and CPU/wall time add up across installs (commands on two machines are two
commands). Percentiles cannot be merged exactly from percentiles; the merged p50/p95 are the
count-weighted means of the installs' values, exact whenever one install ran the commands.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from agent.contract import BODY_COMMAND_STATS, COMMAND_STAT_FIGURES, COMMAND_STAT_KEYS
from bridge.errors import InvalidReport
from bridge.mapping.validate import array_at, count_at, object_at, text_at

_KEY_LIMITS = {"repository": 255, "category": 32, "tool": 64, "outcome": 16}
StatKey = tuple[str, str, str, str]


def _seconds(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        raise InvalidReport(field, "must be a non-negative number of seconds")
    if value > 10**9:
        raise InvalidReport(field, "is implausibly large")
    return float(value)


def parse_command_stats(raw: Any) -> list[dict[str, Any]]:
    entries = []
    for index, item in enumerate(array_at(raw, BODY_COMMAND_STATS)):
        where = f"{BODY_COMMAND_STATS}[{index}]"
        entry = object_at(item, where)
        parsed: dict[str, Any] = {
            key: text_at(
                entry.get(key, "") if key == "repository" else entry.get(key),
                f"{where}.{key}",
                max_chars=_KEY_LIMITS[key],
            )
            for key in COMMAND_STAT_KEYS
        }
        parsed["count"] = count_at(entry.get("count"), f"{where}.count")
        for figure in COMMAND_STAT_FIGURES[1:]:
            parsed[figure] = _seconds(entry.get(figure, 0), f"{where}.{figure}")
        entries.append(parsed)
    return entries


def merge_command_stats(installs: list[list[dict[str, Any]]]) -> dict[StatKey, dict[str, float]]:
    merged: dict[StatKey, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COMMAND_STAT_FIGURES, 0.0))
    for entries in installs:
        for entry in entries:
            key: StatKey = tuple(entry[k] for k in COMMAND_STAT_KEYS)  # type: ignore[assignment]
            total = merged[key]
            count = entry["count"]
            for percentile in ("p50_duration_s", "p95_duration_s"):
                weight = total["count"] + count
                total[percentile] = (
                    (total[percentile] * total["count"] + entry[percentile] * count) / weight
                    if weight
                    else 0.0
                )
            for figure in ("count", "total_duration_s", "cpu_time_s", "wall_time_s"):
                total[figure] += entry[figure]
    return merged
