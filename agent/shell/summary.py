"""A day's shell commands as the agent reports them: counts per category, statistics per
(repository, category, tool, outcome), and the commands worth an event of their own."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from agent import contract as C
from agent.collectors.projects import unique_names
from agent.day import CommandRun
from agent.shell.store import StoredCommand

# Seed 002: an extra event when a command fails or takes longer than 10 seconds.
SLOW_COMMAND_S: Final = 10.0


def runs(commands: Iterable[StoredCommand]) -> list[CommandRun]:
    """The commands with their working trees replaced by repository names."""
    commands = list(commands)
    names = unique_names(Path(c.repository) for c in commands if c.repository)
    return [
        CommandRun(
            ended_at=c.ended_at,
            duration_s=round(c.duration_s, 6),
            exit_code=c.exit_code,
            outcome=c.outcome,
            category=c.category,
            tool=c.tool,
            repository=names[Path(c.repository)] if c.repository else "",
            cpu_s=c.cpu_s,
        )
        for c in commands
    ]


def counts(commands: Iterable[CommandRun]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for command in commands:
        totals[command.category] += 1
    return dict(totals)


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest rank: a duration some command really took."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def stats(commands: Iterable[CommandRun]) -> list[dict[str, Any]]:
    """The ``command_stats`` entries of the day-summary body, sorted by key."""
    groups: dict[tuple[str, str, str, str], list[CommandRun]] = defaultdict(list)
    for c in commands:
        groups[(c.repository, c.category, c.tool, c.outcome)].append(c)
    entries = []
    for key, runs_of_key in sorted(groups.items()):
        ordered = sorted(c.duration_s for c in runs_of_key)
        sampled = [c for c in runs_of_key if c.cpu_s is not None]
        entries.append(
            {
                **dict(zip(C.COMMAND_STAT_KEYS, key, strict=True)),
                "count": len(ordered),
                "total_duration_s": round(sum(ordered), 6),
                "p50_duration_s": _percentile(ordered, 0.5),
                "p95_duration_s": _percentile(ordered, 0.95),
                # Over the sampled runs only, so wall minus CPU is time spent waiting.
                "cpu_time_s": round(sum(c.cpu_s or 0.0 for c in sampled), 6),
                "wall_time_s": round(sum(c.duration_s for c in sampled), 6),
            }
        )
    return entries


def events(date: dt.date, commands: Iterable[CommandRun]) -> list[dict[str, Any]]:
    """Attributes of one ``devtel.command`` event per command that failed or ran long."""
    return [
        {
            C.ATTR_DATE: date.isoformat(),
            C.ATTR_COMMAND_CATEGORY: c.category,
            C.ATTR_TOOL: c.tool,
            C.ATTR_COMMAND_OUTCOME: c.outcome,
            C.ATTR_EXIT_CODE: c.exit_code,
            C.ATTR_COMMAND_DURATION: c.duration_s,
            C.ATTR_COMMAND_ENDED_AT: dt.datetime.fromtimestamp(c.ended_at, dt.UTC).isoformat(),
            C.ATTR_REPOSITORY: c.repository,
        }
        for c in commands
        if c.exit_code != 0 or c.duration_s > SLOW_COMMAND_S
    ]
