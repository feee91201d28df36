"""Which days a report may describe: none before a floor, none more than a day ahead of us.

A day before the floor (default 2000-01-01, ``DEVTEL_MIN_DATE``) is a broken clock or a typo,
and a row dated 1970 or 2099 would sit in DevLake's dashboards for good. A developer's local date
may be one day ahead of the receiver's UTC date (a timezone east of UTC), never more.
"""

from __future__ import annotations

import datetime as dt
import functools
import os

from bridge.errors import InvalidReport

MIN_DATE_ENV = "DEVTEL_MIN_DATE"
DEFAULT_MIN_DATE = dt.date(2000, 1, 1)
MAX_DAYS_AHEAD = 1


@functools.lru_cache(maxsize=4)
def parse_min_date(text: str) -> dt.date:
    """``DEVTEL_MIN_DATE``'s value as a date; a bad one is named, so ``serve`` can refuse to start."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{MIN_DATE_ENV} must be a date as YYYY-MM-DD, got {text!r}") from None


def utc_now() -> dt.datetime:
    """Naive UTC with millisecond precision, as DATETIME(3) holds it."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def min_date() -> dt.date:
    text = os.environ.get(MIN_DATE_ENV, "").strip()
    return parse_min_date(text) if text else DEFAULT_MIN_DATE


def check_day(day: dt.date, field: str) -> dt.date:
    """``day`` if a report may describe it; InvalidReport (a 400) naming ``field`` otherwise."""
    floor = min_date()
    if day < floor:
        raise InvalidReport(field, f"{day} is before {floor}, the earliest day accepted ({MIN_DATE_ENV})")
    latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=MAX_DAYS_AHEAD)
    if day > latest:
        ahead = f"more than {MAX_DAYS_AHEAD} day ahead of the receiver's clock"
        raise InvalidReport(field, f"{day} is in the future: {ahead}")
    return day
