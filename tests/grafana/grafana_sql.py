"""Expand a Grafana MySQL query the way Grafana does before sending it to the server.

Two steps, in Grafana's order: template variables first (the frontend's interpolation, with the SQL
datasources' rule that a multi-value variable becomes a list of single-quoted strings), then the
MySQL datasource's macros (pkg/tsdb/mysql/macros.go: ``$__timeFilter(col)`` is
``col BETWEEN FROM_UNIXTIME(from) AND FROM_UNIXTIME(to)``, ``$__timeGroup(col, 1d)`` is
``UNIX_TIMESTAMP(col) DIV 86400 * 86400``, ``$__timeGroupAlias`` adds ``AS "time"``, and so on).
Grafana opens MySQL sessions with ``time_zone='+00:00'``; the tests do the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# Grafana's variable syntaxes: $var, ${var}, ${var:format}, [[var]]
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}")
# The MySQL macro engine's pattern: $__name(args without a closing parenthesis)
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_INTERVAL = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
BUILTIN = (
    "__timeFilter",
    "__timeFrom",
    "__timeTo",
    "__timeGroup",
    "__timeGroupAlias",
    "__time",
    "__timeEpoch",
    "__unixEpochFilter",
    "__unixEpochGroup",
    "__unixEpochGroupAlias",
)


class UnknownVariable(KeyError):
    """A query names a template variable the dashboard does not define."""


def sql_quote(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def _format(value: str | Sequence[str], fmt: str | None, multi: bool) -> str:
    values = [value] if isinstance(value, str) else list(value)
    if fmt == "raw":
        return ",".join(values)
    if fmt in ("csv",):
        return ",".join(values)
    if fmt in ("sqlstring",) or multi:
        return ",".join(sql_quote(v) for v in values)
    return ",".join(values)


def interpolate(
    sql: str, variables: Mapping[str, str | Sequence[str]], multi: frozenset[str] = frozenset()
) -> str:
    """Replace template variables; names listed in ``multi`` are multi-value (quoted lists)."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(5)
        if name.startswith("__"):
            return m.group(0)  # a macro or a Grafana global, not a dashboard variable
        if name not in variables:
            raise UnknownVariable(f"query uses ${name}, which the dashboard does not define: {sql!r}")
        return _format(variables[name], fmt, name in multi)

    return _VARIABLE.sub(repl, sql)


def _interval_seconds(text: str) -> int:
    m = _INTERVAL.match(text.strip().strip("'\""))
    if not m:
        raise ValueError(f"error parsing interval {text}")
    return int(int(m.group(1)) * _SECONDS[m.group(2)])


def expand_macros(sql: str, time_from: int, time_to: int) -> str:
    """Expand the MySQL datasource's macros for the range [time_from, time_to] (epoch seconds)."""

    def macro(name: str, args: list[str]) -> str:
        if name in ("__time", "__timeEpoch"):
            return f"UNIX_TIMESTAMP({args[0]}) as time_sec"
        if name == "__timeFilter":
            return f"{args[0]} BETWEEN FROM_UNIXTIME({time_from}) AND FROM_UNIXTIME({time_to})"
        if name == "__timeFrom":
            return f"FROM_UNIXTIME({time_from})"
        if name == "__timeTo":
            return f"FROM_UNIXTIME({time_to})"
        if name == "__timeGroup":
            s = _interval_seconds(args[1])
            return f"UNIX_TIMESTAMP({args[0]}) DIV {s} * {s}"
        if name == "__timeGroupAlias":
            return macro("__timeGroup", args) + ' AS "time"'
        if name == "__unixEpochFilter":
            return f"{args[0]} >= {time_from} AND {args[0]} <= {time_to}"
        if name == "__unixEpochGroup":
            s = _interval_seconds(args[1])
            return f"{args[0]} DIV {s} * {s}"
        if name == "__unixEpochGroupAlias":
            return macro("__unixEpochGroup", args) + ' AS "time"'
        raise ValueError(f"unknown macro {name}")

    return _MACRO.sub(lambda m: macro(m.group(1), [a.strip() for a in m.group(2).split(",")]), sql)


def render(
    sql: str,
    variables: Mapping[str, str | Sequence[str]],
    multi: frozenset[str],
    time_from: int,
    time_to: int,
) -> str:
    return expand_macros(interpolate(sql, variables, multi), time_from, time_to)
