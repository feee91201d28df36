"""Every SQL panel and variable query, expanded as Grafana expands it, runs on MariaDB and returns
non-empty rows of the types its panel needs, on JSON columns and on DevLake's TEXT columns."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import time
from functools import cache

import pytest

from tests.grafana.conftest import connect, load_dashboards
from tests.grafana.grafana_sql import render

pytestmark = pytest.mark.mysql

DASHBOARDS = load_dashboards()
NUMBER = (int, float, decimal.Decimal)
TIME = (dt.date, dt.datetime, int, float, decimal.Decimal)
_RELATIVE = re.compile(r"^now-(\d+)([mhdw])$")
_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def time_range(dashboard: dict) -> tuple[int, int]:
    now = int(time.time())
    m = _RELATIVE.match(dashboard["time"]["from"])
    assert m and dashboard["time"]["to"] == "now", dashboard["time"]
    return now - int(m.group(1)) * _UNIT[m.group(2)], now


def mysql_variables(dashboard: dict) -> list[dict]:
    return [
        v
        for v in dashboard["templating"]["list"]
        if v["type"] == "query" and v["datasource"]["type"] == "mysql"
    ]


def sql_targets(dashboard: dict) -> list[tuple[dict, dict]]:
    return [
        (p, t)
        for p in dashboard["panels"]
        for t in p.get("targets", [])
        if t["datasource"]["type"] == "mysql"
    ]


def run(url: str, sql: str) -> tuple[list[str], list[tuple]]:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return [d[0] for d in cur.description], list(cur.fetchall())
    finally:
        conn.close()


@cache
def resolve_variables(name: str, url: str) -> tuple[dict, frozenset[str]]:
    """Run the dashboard's variable queries in order, as Grafana does on load: a single-value
    variable takes its first value, a multi-value one "All" (every value, as a quoted list)."""
    dashboard = DASHBOARDS[name]
    start, end = time_range(dashboard)
    values: dict = {"prometheus": "prometheus", "user": ".*"}
    multi = set()
    for var in mysql_variables(dashboard):
        _, rows = run(url, render(var["query"], values, frozenset(multi), start, end))
        options = [str(r[0]) for r in rows]
        assert options, f"{name}: variable {var['name']} has no values"
        if var["multi"]:
            multi.add(var["name"])
            values[var["name"]] = options
        else:
            values[var["name"]] = options[0]
    return values, frozenset(multi)


def _check_shape(panel: dict, target: dict, columns: list[str], rows: list[tuple]) -> None:
    where = f"{panel['title']!r} ({target['refId']})"
    assert rows, f"{where}: no rows"
    cols = list(zip(*rows, strict=True))
    numeric = [
        c
        for c, vals in zip(columns, cols, strict=True)
        if c not in ("time", "metric")
        and all(isinstance(v, NUMBER) for v in vals if v is not None)
        and any(v is not None for v in vals)
    ]
    assert numeric, f"{where}: no numeric column in {columns}: {rows[:2]}"
    if target["format"] == "time_series":
        assert "time" in columns, f"{where}: a time series needs a column named time: {columns}"
        times = cols[columns.index("time")]
        assert all(isinstance(v, TIME) for v in times), f"{where}: time column types {set(map(type, times))}"
        if "metric" in columns:
            assert all(isinstance(v, str) for v in cols[columns.index("metric")]), f"{where}: metric not text"
    elif panel["type"] == "stat":
        assert len(rows) == 1 and all(isinstance(v, NUMBER) for v in rows[0]), f"{where}: {rows}"
    elif panel["type"] in ("barchart", "piechart"):
        assert isinstance(rows[0][0], str), f"{where}: the first column must be the label: {rows[0]}"
        assert all(v is not None for v in cols[columns.index(numeric[0])]), f"{where}: NULL values"


CASES = [(name, p["id"], t["refId"]) for name, d in DASHBOARDS.items() for p, t in sql_targets(d)]
VARIABLE_CASES = [(name, v["name"]) for name, d in DASHBOARDS.items() for v in mysql_variables(d)]


@pytest.mark.parametrize("variant", ["json", "text"])
@pytest.mark.parametrize(("name", "variable"), VARIABLE_CASES)
def test_variable_query_returns_values(team_db, variant, name, variable):
    values, _ = resolve_variables(name, team_db[variant])
    assert values[variable]


@pytest.mark.parametrize("variant", ["json", "text"])
@pytest.mark.parametrize(("name", "panel_id", "ref"), CASES)
def test_sql_panel_returns_typed_rows(team_db, variant, name, panel_id, ref):
    dashboard = DASHBOARDS[name]
    panel = next(p for p in dashboard["panels"] if p["id"] == panel_id)
    target = next(t for t in panel["targets"] if t["refId"] == ref)
    values, multi = resolve_variables(name, team_db[variant])
    start, end = time_range(dashboard)
    sql = render(target["rawSql"], values, multi, start, end)
    assert "$" not in sql.replace("'$.", "").replace("'$[", ""), f"unexpanded macro or variable: {sql}"
    columns, rows = run(team_db[variant], sql)
    _check_shape(panel, target, columns, rows)
    for override in panel["fieldConfig"]["overrides"]:
        assert override["matcher"]["options"] in columns, f"override for a column the query lacks: {override}"


def test_developer_filter_narrows_the_rows(team_db):
    """The developer variable really filters: one developer's total is below the team's."""
    dashboard = DASHBOARDS["DeveloperTelemetry.json"]
    panel = next(p for p in dashboard["panels"] if p["title"] == "Total Active Hours")
    values, multi = resolve_variables("DeveloperTelemetry.json", team_db["json"])
    start, end = time_range(dashboard)
    team = run(team_db["json"], render(panel["targets"][0]["rawSql"], values, multi, start, end))[1][0][0]
    one = dict(values, developer=[values["developer"][0]])
    alone = run(team_db["json"], render(panel["targets"][0]["rawSql"], one, multi, start, end))[1][0][0]
    assert 0 < alone < team


def test_connection_filter_separates_connections(team_db):
    dashboard = DASHBOARDS["DeveloperTelemetry.json"]
    panel = next(p for p in dashboard["panels"] if p["title"] == "Active Developers")
    values, multi = resolve_variables("DeveloperTelemetry.json", team_db["json"])
    start, end = time_range(dashboard)
    counts = [
        run(
            team_db["json"],
            render(panel["targets"][0]["rawSql"], dict(values, connection_id=c), multi, start, end),
        )[1][0][0]
        for c in ("1", "2")
    ]
    assert counts == [15, 5]  # connection 2 holds the second, five-developer team
