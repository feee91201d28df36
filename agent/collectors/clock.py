"""Local calendar days and local clock hours, correct across daylight-saving changes.

Everything is kept as epoch seconds and converted with a real time-zone database
(``zoneinfo``), so a fall-back day has 25 distinct clock hours and a spring-forward day 23.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_LOCALTIME = "/etc/localtime"


def local_zone() -> dt.tzinfo:
    """The machine's zone: ``TZ`` if it names a zone, else /etc/localtime, else the current offset."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # a POSIX rule string or a typo: fall through to the system file
    try:
        with open(_LOCALTIME, "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError):
        # No zone database at all: a fixed offset is the best that can be done.
        return dt.datetime.now().astimezone().tzinfo or dt.UTC


@dataclass(frozen=True, slots=True)
class LocalDay:
    """One local calendar date as the half-open epoch interval [start, end)."""

    date: dt.date
    zone: dt.tzinfo
    start: int
    end: int

    @classmethod
    def of(cls, date: dt.date, zone: dt.tzinfo) -> LocalDay:
        start = dt.datetime.combine(date, dt.time(0), zone).timestamp()
        end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), zone).timestamp()
        return cls(date=date, zone=zone, start=int(start), end=int(end))

    def contains(self, timestamp: float) -> bool:
        return self.start <= timestamp < self.end

    def clock_hour(self, timestamp: float) -> int:
        """Epoch seconds of the start of the local clock hour holding ``timestamp``.

        ``fromtimestamp`` sets ``fold`` for the repeated hour of a fall-back night, and
        ``replace`` keeps it, so 01:30 EDT and 01:30 EST land in two different hours.
        """
        local = dt.datetime.fromtimestamp(timestamp, self.zone)
        return int(local.replace(minute=0, second=0, microsecond=0).timestamp())


def today(zone: dt.tzinfo, now: dt.datetime) -> dt.date:
    return now.astimezone(zone).date()
