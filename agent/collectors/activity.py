"""Active clock hours and active minutes from activity signals (timestamps).

A local clock hour is active when any signal falls in it; the day's active hours are the
distinct such hours, so the number of runs or signals in an hour never matters. Active
minutes follow the heartbeat-gap rule WakaTime uses: the time between two consecutive
signals counts when the gap is at most ``gap_minutes``; a longer gap is a break.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from agent.collectors.clock import LocalDay


def active_clock_hours(day: LocalDay, signals: Iterable[float]) -> set[int]:
    """Epoch starts of the local clock hours of ``day`` holding at least one signal."""
    return {day.clock_hour(stamp) for stamp in signals if day.contains(stamp)}


def span_clock_hours(day: LocalDay, spans: Iterable[tuple[float, float]]) -> set[int]:
    """Every local clock hour of ``day`` that a (start, end) stretch touches: a build from 09:10
    to 11:50 makes 09, 10 and 11 active, not only the hour it ended in."""
    hours: set[int] = set()
    for start, end in spans:
        at = max(start, day.start)
        while at <= min(end, day.end - 1):
            hour = day.clock_hour(at)
            hours.add(hour)
            at = hour + 3600  # the next clock hour's start (a clock hour is 3600 s in every zone)
    return hours


def active_minutes(day: LocalDay, signals: Iterable[float], gap_minutes: int) -> int:
    stamps = sorted(stamp for stamp in signals if day.contains(stamp))
    limit = gap_minutes * 60
    seconds = sum(gap for gap in (b - a for a, b in pairwise(stamps)) if gap <= limit)
    return int(seconds // 60)
