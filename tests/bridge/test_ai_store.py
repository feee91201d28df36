"""What one AI point adds, given the last point of its stream; and time saved from the assumption."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.mapping.ai_mapping import CUMULATIVE, DELTA, GAUGE, AiPoint
from bridge.store.ai_store import TimeSaved, increase


def point(kind: str, time_ns: int, value: float) -> AiPoint:
    return AiPoint(
        1, "s", 100, time_ns, kind, value, "dev", dt.date(2026, 3, 2), "t", "go", "agent", "tokens"
    )


@pytest.mark.parametrize(
    ("kind", "last", "time_ns", "value", "adds"),
    [
        (DELTA, None, 200, 5.0, 5.0),  # first time: its value
        (DELTA, (200, 5.0), 200, 5.0, None),  # the same interval again: nothing
        (DELTA, (200, 5.0), 300, 7.0, None),  # same start, later end: overlapping, never added twice
        (CUMULATIVE, None, 200, 40.0, 40.0),  # everything since the start
        (CUMULATIVE, (200, 40.0), 300, 55.0, 15.0),  # the increase
        (CUMULATIVE, (300, 55.0), 200, 40.0, None),  # older than the last: already counted
        (CUMULATIVE, (300, 55.0), 300, 55.0, None),  # a duplicate
        (CUMULATIVE, (300, 55.0), 400, 10.0, 10.0),  # dropped below: a reset, all of it is new
        (GAUGE, None, 200, 9.0, 9.0),
        (GAUGE, (200, 9.0), 300, 12.0, 3.0),  # a newer day total replaces the older
        (GAUGE, (300, 12.0), 200, 9.0, None),  # a late older total never wins
    ],
)
def test_increase(kind, last, time_ns, value, adds) -> None:
    assert increase(point(kind, time_ns, value), last) == adds


def test_time_saved_is_lines_times_the_assumption_minus_waiting_never_negative() -> None:
    assert TimeSaved().of(100, 0) == 1200
    assert TimeSaved(10).of(100, 30) == 970
    assert TimeSaved(10).of(1, 300) == 0
