"""Small typed readers for untrusted JSON: each names the field it rejects and why."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from bridge.errors import InvalidReport
from bridge.mapping.dates import check_day
from bridge.schema.tables import VARCHAR_MAX_CHARS

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_COUNT = 2**53 - 1  # what every JSON reader (and JavaScript) holds exactly


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def object_at(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidReport(field, f"must be an object, got {describe(value)}")
    return value


def array_at(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidReport(field, f"must be an array, got {describe(value)}")
    return value


def text_at(value: Any, field: str, *, max_chars: int | None = VARCHAR_MAX_CHARS) -> str:
    if not isinstance(value, str):
        raise InvalidReport(field, f"must be a string, got {describe(value)}")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidReport(field, f"is {len(value)} characters long; at most {max_chars} fit")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidReport(field, "holds an unpaired UTF-16 surrogate escape") from None
    return value


def optional_text_at(value: Any, field: str) -> str | None:
    return None if value is None else text_at(value, field)


def required_text_at(value: Any, field: str) -> str:
    if value is None:
        raise InvalidReport(field, "is required")
    text = text_at(value, field)
    if not text.strip():
        raise InvalidReport(field, "must not be empty")
    return text


def count_at(value: Any, field: str, *, truncate_float: bool = False) -> int:
    """A non-negative whole number; a float is truncated only where DevLake truncates it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidReport(field, f"must be a non-negative integer, got {describe(value)}")
    if isinstance(value, float):
        if not truncate_float and not value.is_integer():
            raise InvalidReport(field, f"must be a whole number, got {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidReport(field, "must be a finite number")
        value = int(value)
    if value < 0:
        raise InvalidReport(field, f"must not be negative, got {value}")
    if value > MAX_COUNT:
        raise InvalidReport(field, f"is too large ({value}); at most {MAX_COUNT}")
    return value


def date_at(value: Any, field: str) -> dt.date:
    if value is None:
        raise InvalidReport(field, "is required")
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidReport(field, f"must be a date as YYYY-MM-DD, got {value!r}"[:200])
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidReport(field, f"{value!r} is not a real calendar date") from None
    return check_day(day, field)


# JSON kept as the client sent it (extra keys of git_activity, project_context): the database's
# JSON check refuses documents nested deeper than 32 levels (MariaDB), so this stays below it.
MAX_JSON_DEPTH = 20
_INT64 = (-(2**63), 2**64 - 1)  # signed to unsigned 64-bit: what MySQL's JSON numbers hold


def free_json_at(value: Any, field: str, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Check JSON stored unvalidated: nesting, finite numbers, encodable strings; names the path."""
    stack: list[tuple[Any, str, int]] = [(value, field, 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                raise InvalidReport(where, f"nests deeper than {max_depth} levels")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str):
                    text_at(key, f"{where} (a key)", max_chars=None)
                path = f"{where}.{key}" if isinstance(item, dict) else f"{where}[{key}]"
                stack.append((child, path, depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidReport(where, "must be a finite number")
        elif isinstance(item, int) and not isinstance(item, bool) and not _INT64[0] <= item <= _INT64[1]:
            raise InvalidReport(where, "is outside the 64-bit range a database JSON number holds")
        elif isinstance(item, str):
            text_at(item, where, max_chars=None)


# Times a sender may report (heartbeats, first-seen, record times): after this and at most a day
# ahead of now. Anything else is a broken clock, and outside what the DATETIME columns hold.
EARLIEST_MOMENT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def plausible_seconds(value: float, field: str) -> float:
    """Unix seconds within [EARLIEST_MOMENT, now + 1 day]; names the field otherwise."""
    latest = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    if not math.isfinite(value) or not EARLIEST_MOMENT.timestamp() <= value <= latest.timestamp():
        raise InvalidReport(field, f"is outside {EARLIEST_MOMENT:%Y-%m-%d} to a day from now")
    return value
