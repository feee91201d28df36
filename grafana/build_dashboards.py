"""Write grafana/dashboards/*.json from one description, so every panel keeps the same conventions.

    python grafana/build_dashboards.py        # rewrite the JSON files
    python grafana/build_dashboards.py --check  # exit 1 if a JSON file differs from what this writes

The JSON files are what Grafana (and DevLake) load; this script is only how they are kept
consistent. Panel ids and dashboard uids are fixed here, never generated, so links and
provisioned alerts that point at them stay valid.
"""

# ruff: noqa: E501 -- panel definitions hold SQL and PromQL that read better unbroken
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"

MYSQL = {"type": "mysql", "uid": "mysql"}
PROM = {"type": "prometheus", "uid": "${prometheus}"}
T = "_tool_developer_metrics"
CS = "_tool_developer_command_stats"
INST = "_devtel_installs"
AI = "_tool_developer_ai_metrics"


def _num(path: str, column: str = "git_activity") -> str:
    """A JSON number as an integer; NULL (SQL NULL, or DevLake's text 'null') stays NULL."""
    return f"CAST(JSON_EXTRACT({column}, '$.{path}') AS SIGNED)"


def thresholds(*steps: tuple[str, float | None]) -> dict:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


GREEN = thresholds(("green", None))


def sql(query: str, fmt: str = "table", ref: str = "A") -> dict:
    return {"refId": ref, "datasource": MYSQL, "editorMode": "code", "format": fmt,
            "rawQuery": True, "rawSql": " ".join(query.split())}


def promql(expr: str, legend: str = "__auto", ref: str = "A", instant: bool = False) -> dict:
    return {"refId": ref, "datasource": PROM, "editorMode": "code", "expr": " ".join(expr.split()),
            "legendFormat": legend, "instant": instant, "range": not instant}


def panel(pid: int, kind: str, title: str, description: str, grid: tuple[int, int, int, int],
          targets: list[dict], unit: str, steps: dict = GREEN, decimals: int | None = None,
          options: dict | None = None, custom: dict | None = None, units: dict[str, str] | None = None) -> dict:
    """One panel; ``units`` gives table columns a unit other than the panel's (Grafana overrides)."""
    x, y, w, h = grid
    defaults: dict = {"unit": unit, "thresholds": steps, "color": {"mode": "palette-classic"}}
    if kind in ("stat", "gauge"):
        defaults["color"] = {"mode": "thresholds"}
    if decimals is not None:
        defaults["decimals"] = decimals
    if custom:
        defaults["custom"] = custom
    return {
        "id": pid, "type": kind, "title": title, "description": description,
        "datasource": targets[0]["datasource"],
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": [
            {"matcher": {"id": "byName", "options": column}, "properties": [{"id": "unit", "value": u}]}
            for column, u in (units or {}).items()]},
        "options": options or {},
        "targets": targets,
    }


def row(pid: int, title: str, y: int) -> dict:
    return {"id": pid, "type": "row", "title": title, "collapsed": False,
            "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}


BAR_H = {"orientation": "horizontal", "showValue": "auto", "legend": {"showLegend": False},
         "xTickLabelRotation": 0}
BAR_V = {"orientation": "vertical", "showValue": "auto", "legend": {"showLegend": False}}
STAT = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value", "graphMode": "none", "textMode": "auto"}
TS = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
      "tooltip": {"mode": "multi", "sort": "desc"}}


def query_var(name: str, label: str, query: str, multi: bool, datasource: dict = MYSQL,
              all_value: str | None = None, sort: int = 1) -> dict:
    var = {
        "name": name, "label": label, "type": "query", "datasource": datasource,
        "definition": " ".join(query.split()), "query": " ".join(query.split()),
        "refresh": 2, "sort": sort, "multi": multi, "includeAll": multi, "hide": 0,
        "current": {}, "options": [], "regex": "",
    }
    if all_value is not None:
        var["allValue"] = all_value
    return var


def prometheus_var() -> dict:
    return {"name": "prometheus", "label": "Prometheus / Mimir", "type": "datasource",
            "query": "prometheus", "current": {"text": "Prometheus", "value": "prometheus"},
            "hide": 0, "regex": "", "options": [], "refresh": 1}


def dashboard(uid: str, title: str, description: str, panels: list[dict], variables: list[dict],
              time_from: str = "now-6w", tags: tuple[str, ...] = ("devtel",)) -> dict:
    return {
        "uid": uid, "title": title, "description": description, "tags": list(tags),
        "timezone": "utc", "editable": True, "graphTooltip": 1, "schemaVersion": 39, "version": 1,
        "time": {"from": time_from, "to": "now"}, "refresh": "", "links": [],
        "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                  "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": variables}, "panels": panels,
    }


# --- Developer Telemetry: DevLake's dashboard, same uid, same 13 panels, plus two variables -----

F = "connection_id = ${connection_id} AND $__timeFilter(date) AND developer_id IN (${developer})"
REPO_JOIN = (f"FROM {T} m, JSON_TABLE(m.git_activity, '$.repositories[*]' COLUMNS ("
             "name VARCHAR(255) PATH '$.name', commits BIGINT PATH '$.commits', "
             "lines_added BIGINT PATH '$.lines_added', lines_deleted BIGINT PATH '$.lines_deleted', "
             "files_changed BIGINT PATH '$.files_changed')) AS r "
             "WHERE m.connection_id = ${connection_id} AND $__timeFilter(m.date) "
             "AND m.developer_id IN (${developer}) AND r.name IN (${repository})")


def developer_telemetry() -> dict:
    commits, added, deleted = _num("total_commits"), _num("total_lines_added"), _num("total_lines_deleted")
    tests = _num("test_runs_detected", "development_activity")
    builds = _num("build_commands_detected", "development_activity")
    hours_steps = thresholds(("red", None), ("yellow", 2), ("green", 4), ("orange", 10))
    panels = [
        panel(1, "timeseries", "Active Hours by Developer",
              "How many hours was each developer active, day by day? An hour counts once however many "
              "machines saw activity in it.", (0, 0, 12, 8),
              [sql(f"SELECT date AS time, developer_id AS metric, active_hours AS value FROM {T} "
                   f"WHERE {F} ORDER BY date", "time_series")],
              "h", hours_steps, options=TS, custom={"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                                                    "showPoints": "auto", "thresholdsStyle": {"mode": "off"}}),
        panel(2, "timeseries", "Total Commits by Developer",
              "How many commits did each developer make each day, across all repositories?",
              (12, 0, 12, 8),
              [sql(f"SELECT date AS time, developer_id AS metric, COALESCE({commits}, 0) AS value FROM {T} "
                   f"WHERE {F} ORDER BY date", "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}}),
        panel(3, "barchart", "Total Lines Added by Developer",
              "Who added the most lines in the period? Lines are a rough size signal, not a measure of value.",
              (0, 8, 12, 9),
              [sql(f"SELECT developer_id AS developer, COALESCE(SUM({added}), 0) AS lines_added FROM {T} "
                   f"WHERE {F} GROUP BY developer_id ORDER BY lines_added DESC")],
              "none", GREEN, 0, BAR_H),
        panel(4, "barchart", "Total Active Hours by Developer",
              "Who spent the most active hours in the period (top 15)?", (12, 8, 12, 9),
              [sql(f"SELECT developer_id AS developer, SUM(active_hours) AS active_hours FROM {T} "
                   f"WHERE {F} GROUP BY developer_id ORDER BY active_hours DESC LIMIT 15")],
              "h", GREEN, 0, BAR_H),
        panel(5, "barchart", "Average Active Hours by Day of Week",
              "On which weekdays does the team work, and how long on average per developer-day?",
              (0, 17, 12, 8),
              [sql(f"SELECT DAYNAME(date) AS day_of_week, AVG(active_hours) AS avg_active_hours FROM {T} "
                   f"WHERE {F} GROUP BY WEEKDAY(date), DAYNAME(date) ORDER BY WEEKDAY(date)")],
              "h", hours_steps, 1, BAR_V),
        panel(6, "timeseries", "Daily Commits - Top 10 Developers",
              "Day by day, how many commits did the ten developers with the most commits in the period make?",
              (12, 17, 12, 8),
              [sql(f"SELECT m.date AS time, m.developer_id AS metric, COALESCE({commits}, 0) AS value "
                   f"FROM {T} m JOIN (SELECT developer_id, SUM({commits}) AS c FROM {T} WHERE {F} "
                   f"GROUP BY developer_id ORDER BY c DESC LIMIT 10) top ON top.developer_id = m.developer_id "
                   f"WHERE m.connection_id = ${{connection_id}} AND $__timeFilter(m.date) ORDER BY m.date",
                   "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "line", "lineWidth": 2, "showPoints": "always"}),
        panel(7, "timeseries", "Code Churn (Lines Added vs Deleted)",
              "How much code is added and deleted per day across the team? Deletions close to additions "
              "mean rework or clean-up; additions far above deletions mean growth.", (0, 25, 12, 8),
              [sql(f"SELECT $__timeGroupAlias(date, 1d), COALESCE(SUM({added}), 0) AS `Lines Added`, "
                   f"COALESCE(SUM({deleted}), 0) AS `Lines Deleted` FROM {T} WHERE {F} "
                   "GROUP BY 1 ORDER BY 1", "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "bars", "fillOpacity": 50}),
        panel(8, "timeseries", "Test Runs Detected",
              "How often does the team run tests (and builds) locally, per day? Days without command data "
              "count as zero.", (12, 25, 12, 8),
              [sql(f"SELECT $__timeGroupAlias(date, 1d), COALESCE(SUM({tests}), 0) AS `Test Runs`, "
                   f"COALESCE(SUM({builds}), 0) AS `Build Commands` FROM {T} WHERE {F} "
                   "GROUP BY 1 ORDER BY 1", "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "line", "lineWidth": 2, "fillOpacity": 10}),
        panel(9, "table", "Developer Productivity Summary",
              "Per developer over the period: days active, hours, commits, lines, tests and builds.",
              (0, 33, 24, 10),
              [sql(f"SELECT developer_id AS developer, MAX(name) AS name, COUNT(*) AS days_active, "
                   "SUM(active_hours) AS total_hours, ROUND(AVG(active_hours), 1) AS avg_hours_per_day, "
                   f"COALESCE(SUM({commits}), 0) AS commits, COALESCE(SUM({added}), 0) AS lines_added, "
                   f"COALESCE(SUM({deleted}), 0) AS lines_deleted, COALESCE(SUM({tests}), 0) AS test_runs, "
                   f"COALESCE(SUM({builds}), 0) AS builds FROM {T} WHERE {F} "
                   "GROUP BY developer_id ORDER BY total_hours DESC")],
              "none", hours_steps, options={"showHeader": True, "cellHeight": "sm",
                                            "sortBy": [{"displayName": "total_hours", "desc": True}]},
              units={"total_hours": "h", "avg_hours_per_day": "h"}),
        panel(10, "stat", "Total Commits", "How many commits did the selected developers make in the period?",
              (0, 43, 6, 4), [sql(f"SELECT COALESCE(SUM({commits}), 0) AS total_commits FROM {T} WHERE {F}")],
              "none", thresholds(("blue", None)), 0, STAT),
        panel(11, "stat", "Total Active Hours", "How many active hours did the selected developers log?",
              (6, 43, 6, 4), [sql(f"SELECT COALESCE(SUM(active_hours), 0) AS total_active_hours FROM {T} "
                                  f"WHERE {F}")],
              "h", thresholds(("blue", None)), 0, STAT),
        panel(12, "stat", "Total Lines Added", "How many lines did the selected developers add?",
              (12, 43, 6, 4), [sql(f"SELECT COALESCE(SUM({added}), 0) AS total_lines_added FROM {T} WHERE {F}")],
              "none", thresholds(("blue", None)), 0, STAT),
        panel(13, "stat", "Active Developers",
              "How many developers reported at least one day in the period? Fewer than expected means "
              "agents are not reporting.", (18, 43, 6, 4),
              [sql(f"SELECT COUNT(DISTINCT developer_id) AS active_developers FROM {T} WHERE {F}")],
              "none", thresholds(("red", None), ("yellow", 1), ("green", 3)), 0, STAT),
        row(14, "Repositories", 47),
        panel(15, "barchart", "Commits by Repository",
              "Where do the selected developers' commits go? Filtered by the repository variable.",
              (0, 48, 12, 9),
              [sql("SELECT r.name AS repository, COALESCE(SUM(r.commits), 0) AS commits " + REPO_JOIN +
                   " GROUP BY r.name ORDER BY commits DESC")],
              "none", GREEN, 0, BAR_H),
        panel(16, "table", "Repository Activity",
              "Per repository: how many developers worked in it, and how much changed.", (12, 48, 12, 9),
              [sql("SELECT r.name AS repository, COUNT(DISTINCT m.developer_id) AS developers, "
                   "COUNT(*) AS developer_days, COALESCE(SUM(r.commits), 0) AS commits, "
                   "COALESCE(SUM(r.lines_added), 0) AS lines_added, "
                   "COALESCE(SUM(r.lines_deleted), 0) AS lines_deleted, "
                   "COALESCE(SUM(r.files_changed), 0) AS files_changed " + REPO_JOIN +
                   " GROUP BY r.name ORDER BY commits DESC")],
              "none", GREEN, 0, {"showHeader": True, "cellHeight": "sm"}),
    ]
    variables = [
        query_var("connection_id", "Connection",
                  f"SELECT DISTINCT connection_id FROM {T} ORDER BY connection_id", multi=False),
        query_var("developer", "Developer",
                  f"SELECT DISTINCT developer_id FROM {T} WHERE connection_id = ${{connection_id}} "
                  "AND $__timeFilter(date) ORDER BY developer_id", multi=True),
        query_var("repository", "Repository",
                  f"SELECT DISTINCT r.name FROM {T} m, JSON_TABLE(m.git_activity, '$.repositories[*]' "
                  "COLUMNS (name VARCHAR(255) PATH '$.name')) AS r WHERE m.connection_id = ${connection_id} "
                  "AND $__timeFilter(m.date) ORDER BY r.name", multi=True),
    ]
    return dashboard("developer-telemetry", "Developer Telemetry",
                     "Developer productivity from DevLake's _tool_developer_metrics (devtel's receiver or the "
                     "developer_telemetry plugin).", panels, variables)


# --- Inner Loop: where a developer's time goes between edit and commit -------------------------

FC = ("connection_id = ${connection_id} AND $__timeFilter(date) AND developer_id IN (${developer}) "
      "AND repository IN (${repository})")
# A developer's installs are joined to their user_id through target_info (a resource attribute is not
# a label on the metric itself after Grafana Cloud's conversion; see docs/dashboards.md).
JOIN_USER = ('* on (job, instance) group_left (user_id) group by (job, instance, user_id) '
             '(last_over_time(target_info{job="devtel-agent", user_id=~"${user}"}[$__range]))')
DUR = "devtel_command_duration_seconds"


SLOWEST_UNITS = {"runs": "none", "total_hours": "h", "failure_rate": "percentunit"}


def _slowest(category: str) -> str:
    return (f"SELECT repository, tool, SUM(count) AS runs, "
            "SUM(p50_duration_s * count) / SUM(count) AS p50_s, MAX(p95_duration_s) AS p95_s, "
            "SUM(total_duration_s) / 3600 AS total_hours, "
            "SUM(CASE WHEN outcome = 'failure' THEN count ELSE 0 END) / SUM(count) AS failure_rate "
            f"FROM {CS} WHERE {FC} AND category = '{category}' "
            "GROUP BY repository, tool ORDER BY p95_s DESC LIMIT 20")


def inner_loop() -> dict:
    dur_steps = thresholds(("green", None), ("yellow", 60), ("red", 300))
    fail_steps = thresholds(("green", None), ("yellow", 0.1), ("red", 0.25))
    table = {"showHeader": True, "cellHeight": "sm"}
    panels = [
        row(1, "From devtel's receiver (MySQL)", 0),
        panel(2, "table", "Slowest Test Commands",
              "Which test commands make developers wait longest, by repository and tool? p50 is the "
              "run-weighted mean of the daily medians, p95 the worst daily p95 in the period.",
              (0, 1, 12, 9), [sql(_slowest("test"))], "s", dur_steps, 1, table, units=SLOWEST_UNITS),
        panel(3, "table", "Slowest Build Commands",
              "Which build commands make developers wait longest, by repository and tool?", (12, 1, 12, 9),
              [sql(_slowest("build"))], "s", dur_steps, 1, table, units=SLOWEST_UNITS),
        panel(4, "barchart", "Test Failure Rate by Repository",
              "In which repositories do local test runs fail most often? Failed runs / all runs.",
              (0, 10, 12, 8),
              [sql("SELECT repository, SUM(CASE WHEN outcome = 'failure' THEN count ELSE 0 END) / SUM(count) "
                   f"AS failure_rate FROM {CS} WHERE {FC} AND category = 'test' "
                   "GROUP BY repository ORDER BY failure_rate DESC")],
              "percentunit", fail_steps, 1, BAR_H),
        panel(5, "timeseries", "Failure Rate by Category",
              "Day by day, what share of test, build and install commands fail?", (12, 10, 12, 8),
              [sql("SELECT $__timeGroupAlias(date, 1d), category AS metric, "
                   "SUM(CASE WHEN outcome = 'failure' THEN count ELSE 0 END) / SUM(count) AS value "
                   f"FROM {CS} WHERE {FC} AND category IN ('test', 'build', 'install') "
                   "GROUP BY 1, category ORDER BY 1", "time_series")],
              "percentunit", fail_steps, 1, TS,
              {"drawStyle": "line", "lineWidth": 2, "thresholdsStyle": {"mode": "line"}}),
        panel(6, "timeseries", "Waiting vs Computing",
              "Of the wall-clock time commands took each day, how much was the CPU busy (computing) and "
              "how much was waiting (I/O, network, sleeps, locks)?", (0, 18, 12, 8),
              [sql("SELECT $__timeGroupAlias(date, 1d), SUM(cpu_time_s) AS computing, "
                   f"SUM(GREATEST(wall_time_s - cpu_time_s, 0)) AS waiting FROM {CS} WHERE {FC} "
                   "GROUP BY 1 ORDER BY 1", "time_series")],
              "s", GREEN, 0, TS, {"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}}),
        panel(7, "barchart", "Command Time per Active Hour",
              "For every active hour, how many seconds went to each kind of command? 600 s means ten "
              "minutes of every working hour spent waiting on that category.", (12, 18, 12, 8),
              [sql("SELECT category, SUM(total_duration_s) / (SELECT NULLIF(SUM(active_hours), 0) FROM "
                   f"{T} WHERE {F}) AS seconds_per_active_hour FROM {CS} WHERE {FC} "
                   "GROUP BY category ORDER BY seconds_per_active_hour DESC")],
              "s", thresholds(("green", None), ("yellow", 300), ("red", 900)), 0, BAR_V),
        panel(8, "table", "Week over Week",
              "Is the inner loop getting faster or slower? Per ISO week: hours in tests and builds, the "
              "test failure rate, and the change of test time against the week before.", (0, 26, 24, 8),
              [sql("SELECT week, test_hours, build_hours, test_failure_rate, "
                   "(test_hours - LAG(test_hours) OVER (ORDER BY week)) / LAG(test_hours) OVER (ORDER BY week) "
                   "AS test_hours_change FROM (SELECT DATE_FORMAT(MIN(date), '%x-W%v') AS week, "
                   "SUM(CASE WHEN category = 'test' THEN total_duration_s ELSE 0 END) / 3600 AS test_hours, "
                   "SUM(CASE WHEN category = 'build' THEN total_duration_s ELSE 0 END) / 3600 AS build_hours, "
                   "SUM(CASE WHEN category = 'test' AND outcome = 'failure' THEN count ELSE 0 END) / "
                   "NULLIF(SUM(CASE WHEN category = 'test' THEN count ELSE 0 END), 0) AS test_failure_rate "
                   f"FROM {CS} WHERE {FC} GROUP BY YEARWEEK(date, 3)) w ORDER BY week")],
              "h", GREEN, 1, table, units={"test_failure_rate": "percentunit", "test_hours_change": "percentunit"}),
        row(9, "From Grafana Cloud / Mimir (Prometheus)", 34),
        panel(10, "barchart", "p95 Test Duration by Repository (Prometheus)",
              "From the devtel.command.duration histogram: which repositories and test tools have the slowest "
              "test runs? The 95th percentile over the whole period, from the histogram buckets.", (0, 35, 12, 8),
              [promql(f'histogram_quantile(0.95, sum by (le, vcs_repository_name, devtel_tool) '
                      f'(max_over_time({DUR}_bucket{{devtel_command_category="test"}}[$__range]) {JOIN_USER}))',
                      "{{vcs_repository_name}} {{devtel_tool}}", instant=True)],
              "s", dur_steps, 1, BAR_H),
        panel(11, "timeseries", "p50 and p95 Build Duration, Trailing Day (Prometheus)",
              "Are builds getting slower? At each point, the median and 95th percentile of build durations "
              "over the 24 hours before it.", (12, 35, 12, 8),
              [promql(f'histogram_quantile({q}, sum by (le) (max_over_time('
                      f'{DUR}_bucket{{devtel_command_category="build"}}[1d]) {JOIN_USER}))',
                      f"p{int(q * 100)}", ref)
               for q, ref in ((0.5, "A"), (0.95, "B"))],
              "s", dur_steps, 1, TS),
        panel(12, "barchart", "Test Failure Rate by Repository (Prometheus)",
              "Failed test runs / all test runs per repository over the period, from the histogram counts.",
              (0, 43, 12, 8),
              [promql(f'sum by (vcs_repository_name) (max_over_time({DUR}_count{{devtel_command_category="test",'
                      f' devtel_command_outcome="failure"}}[$__range]) {JOIN_USER}) / sum by (vcs_repository_name) '
                      f'(max_over_time({DUR}_count{{devtel_command_category="test"}}[$__range]) {JOIN_USER})',
                      "{{vcs_repository_name}}", instant=True)],
              "percentunit", fail_steps, 1, BAR_H),
        panel(13, "barchart", "Command Time by Category (Prometheus)",
              "Hours spent in each command category over the period.", (12, 43, 12, 8),
              [promql(f'sum by (devtel_command_category) (max_over_time({DUR}_sum[$__range]) {JOIN_USER}) / 3600',
                      "{{devtel_command_category}}", instant=True)],
              "h", GREEN, 1, BAR_H),
    ]
    variables = [
        query_var("connection_id", "Connection",
                  f"SELECT DISTINCT connection_id FROM {CS} ORDER BY connection_id", multi=False),
        query_var("developer", "Developer",
                  f"SELECT DISTINCT developer_id FROM {CS} WHERE connection_id = ${{connection_id}} "
                  "AND $__timeFilter(date) ORDER BY developer_id", multi=True),
        query_var("repository", "Repository",
                  f"SELECT DISTINCT repository FROM {CS} WHERE connection_id = ${{connection_id}} "
                  "AND $__timeFilter(date) AND developer_id IN (${developer}) ORDER BY repository", multi=True),
        prometheus_var(),
        query_var("user", "User (Prometheus)",
                  'label_values(target_info{job="devtel-agent"}, user_id)', multi=True,
                  datasource=PROM, all_value=".*"),
    ]
    return dashboard("devtel-inner-loop", "Inner Loop",
                     "Where developers' time goes: test and build durations, failures, waiting against "
                     "computing.", panels, variables, time_from="now-30d")


# --- Fleet: the base telemetry of every install ---------------------------------------------

FI = "connection_id = ${connection_id}"
# The newest version by numeric major.minor.patch ("1.10.0" after "1.9.0"), not by string order.
LATEST = (f"SELECT app_version FROM {INST} WHERE {FI} ORDER BY "
          + ", ".join(f"CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(app_version, '.', {i}), '.', -1) AS UNSIGNED) DESC"
                      for i in (1, 2, 3)) + " LIMIT 1")


def fleet() -> dict:
    silent = thresholds(("green", None), ("yellow", 1), ("red", 2))
    panels = [
        panel(1, "stat", "Installs", "How many installs have ever reported on this connection?",
              (0, 0, 6, 4), [sql(f"SELECT COUNT(*) AS installs FROM {INST} WHERE {FI}")],
              "none", thresholds(("blue", None)), 0, STAT),
        panel(2, "stat", "Active in the Last 24 Hours", "How many installs sent a heartbeat in the last day?",
              (6, 0, 6, 4),
              [sql(f"SELECT COUNT(*) AS active_24h FROM {INST} WHERE {FI} "
                   "AND heartbeat_at >= $__timeTo() - INTERVAL 1 DAY")],
              "none", thresholds(("red", None), ("green", 1)), 0, STAT),
        panel(3, "stat", "Silent for 2 Days or More",
              "How many installs have not sent a heartbeat for two days or more (the alert's condition)?",
              (12, 0, 6, 4),
              [sql(f"SELECT COUNT(*) AS silent FROM {INST} WHERE {FI} "
                   "AND (heartbeat_at IS NULL OR heartbeat_at < $__timeTo() - INTERVAL 2 DAY)")],
              "none", silent, 0, STAT),
        panel(4, "stat", "Latest Version Share",
              "What share of installs seen in the period run the newest version?", (18, 0, 6, 4),
              [sql(f"SELECT SUM(app_version = ({LATEST})) / COUNT(*) "
                   f"AS latest_share FROM {INST} WHERE {FI} AND $__timeFilter(last_seen_at)")],
              "percentunit", thresholds(("red", None), ("yellow", 0.5), ("green", 0.8)), 0, STAT),
        panel(5, "timeseries", "Active Installs per Day",
              "How many installs were alive each day (first seen on or before the day, last seen on or "
              "after it)?", (0, 4, 12, 8),
              [sql("WITH RECURSIVE days (d) AS (SELECT DATE($__timeFrom()) UNION ALL "
                   "SELECT d + INTERVAL 1 DAY FROM days WHERE d < DATE($__timeTo())) "
                   "SELECT UNIX_TIMESTAMP(days.d) AS time, COUNT(i.install_id) AS active_installs FROM days "
                   f"LEFT JOIN {INST} i ON i.{FI} AND DATE(i.first_seen_at) <= days.d "
                   "AND DATE(i.last_seen_at) >= days.d GROUP BY days.d ORDER BY days.d", "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "line", "lineWidth": 2, "fillOpacity": 20}),
        panel(6, "timeseries", "First Seen over Time",
              "How many new installs appeared each day?", (12, 4, 12, 8),
              [sql("SELECT $__timeGroupAlias(first_seen_at, 1d), COUNT(*) AS new_installs "
                   f"FROM {INST} WHERE {FI} AND $__timeFilter(first_seen_at) GROUP BY 1 ORDER BY 1",
                   "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "bars", "fillOpacity": 60}),
        panel(7, "piechart", "Versions",
              "Which agent versions run on the installs seen in the period?", (0, 12, 8, 8),
              [sql(f"SELECT app_version, COUNT(*) AS installs FROM {INST} WHERE {FI} "
                   "AND $__timeFilter(last_seen_at) GROUP BY app_version ORDER BY app_version")],
              "none", GREEN, 0, {"reduceOptions": {"calcs": ["lastNotNull"], "values": True},
                                 "pieType": "donut", "legend": {"displayMode": "table", "placement": "right"}}),
        panel(8, "piechart", "Platforms",
              "On which platforms and architectures does the agent run?", (8, 12, 8, 8),
              [sql(f"SELECT CONCAT(platform, ' ', architecture) AS platform, COUNT(*) AS installs "
                   f"FROM {INST} WHERE {FI} AND $__timeFilter(last_seen_at) GROUP BY 1 ORDER BY 2 DESC")],
              "none", GREEN, 0, {"reduceOptions": {"calcs": ["lastNotNull"], "values": True},
                                 "pieType": "donut", "legend": {"displayMode": "table", "placement": "right"}}),
        panel(9, "barchart", "Release Channels and Deployment",
              "How was the agent deployed (MDM or by hand), and on which release channel?", (16, 12, 8, 8),
              [sql("SELECT CONCAT(release_channel, ' / ', deployment_type) AS channel, COUNT(*) AS installs "
                   f"FROM {INST} WHERE {FI} AND $__timeFilter(last_seen_at) GROUP BY 1 ORDER BY 2 DESC")],
              "none", GREEN, 0, BAR_H),
        panel(10, "table", "Installs Gone Silent",
              "Which installs have sent no heartbeat for a day or more, and since when? Two days is the "
              "alert's threshold.", (0, 20, 24, 9),
              [sql("SELECT install_id, app_version, platform, os_version, heartbeat_at AS last_heartbeat, "
                   "TIMESTAMPDIFF(HOUR, heartbeat_at, $__timeTo()) / 24 AS days_silent "
                   f"FROM {INST} WHERE {FI} AND heartbeat_at < $__timeTo() - INTERVAL 1 DAY "
                   "ORDER BY heartbeat_at")],
              "d", silent, 1, {"showHeader": True, "cellHeight": "sm"}),
    ]
    variables = [query_var("connection_id", "Connection",
                           f"SELECT DISTINCT connection_id FROM {INST} ORDER BY connection_id", multi=False)]
    return dashboard("devtel-fleet", "Devtel Fleet", "Base telemetry: every install, its version and platform, "
                     "and whether it still reports.", panels, variables, time_from="now-90d")


# --- AI Assistant: suggestions, acceptance, lines generated, time saved (issue 6) ----------------

FA = ("connection_id = ${connection_id} AND $__timeFilter(date) AND developer_id IN (${developer}) "
      "AND tool IN (${tool}) AND language IN (${language})")
RATE = "SUM(suggestions_accepted) / NULLIF(SUM(suggestions_shown), 0)"
# devtel.ai.* gauges hold full-day totals, one series per devtel_date: the largest value of each
# series in the range is that day's total, and the days add up.
AIP = 'sum{by}(max_over_time(devtel_ai_suggestions_{what}{{devtel_ai_tool=~"${{ai_tool}}"}}[$__range]))'
CLAUDE_DECISIONS = "claude_code_code_edit_tool_decision_count_total"


def _ai_prom(what: str, by: str = "") -> str:
    return AIP.format(what=what, by=f" by ({by}) " if by else " ")


def ai_assistant() -> dict:
    rate_steps = thresholds(("red", None), ("yellow", 0.3), ("green", 0.5))
    table = {"showHeader": True, "cellHeight": "sm"}
    pie = {"reduceOptions": {"calcs": ["lastNotNull"], "values": True}, "pieType": "donut",
           "legend": {"displayMode": "table", "placement": "right"}}
    panels = [
        panel(1, "gauge", "Acceptance Rate",
              "What share of the AI suggestions shown did developers accept? Below 30% for two hours fires "
              "the low-acceptance alert.", (0, 0, 6, 6),
              [sql(f"SELECT {RATE} AS acceptance_rate FROM {AI} WHERE {FA}")],
              "percentunit", rate_steps, 0, {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                                             "showThresholdMarkers": True}),
        panel(2, "stat", "Total Suggestions", "How many AI suggestions (completions, proposed edits) were shown?",
              (6, 0, 5, 3), [sql(f"SELECT COALESCE(SUM(suggestions_shown), 0) AS suggestions FROM {AI} WHERE {FA}")],
              "none", thresholds(("blue", None)), 0, STAT),
        panel(3, "stat", "Active Users", "How many developers used an AI assistant in the period?",
              (11, 0, 4, 3), [sql(f"SELECT COUNT(DISTINCT developer_id) AS active_users FROM {AI} WHERE {FA}")],
              "none", thresholds(("red", None), ("green", 1)), 0, STAT),
        panel(4, "stat", "Lines Generated", "How many lines did AI assistants write that developers kept?",
              (15, 0, 4, 3), [sql(f"SELECT COALESCE(SUM(lines_added), 0) AS lines_generated FROM {AI} WHERE {FA}")],
              "none", thresholds(("blue", None)), 0, STAT),
        panel(5, "stat", "Time Saved",
              "An estimate, computed by the receiver: accepted lines times the configured seconds per line "
              "(DEVTEL_AI_SECONDS_PER_LINE, default 12), minus time spent waiting for the assistant.",
              (19, 0, 5, 3), [sql(f"SELECT COALESCE(SUM(time_saved_s), 0) / 3600 AS hours_saved FROM {AI} WHERE {FA}")],
              "h", thresholds(("blue", None)), 1, STAT),
        panel(6, "stat", "Cost", "What did the assistants that report it (Claude Code) cost in the period?",
              (6, 3, 5, 3), [sql(f"SELECT COALESCE(SUM(cost_usd), 0) AS cost_usd FROM {AI} WHERE {FA}")],
              "currencyUSD", thresholds(("blue", None)), 2, STAT),
        panel(7, "stat", "Tokens", "How many model tokens did the assistants use?",
              (11, 3, 4, 3), [sql(f"SELECT COALESCE(SUM(tokens), 0) AS tokens FROM {AI} WHERE {FA}")],
              "short", thresholds(("blue", None)), 0, STAT),
        panel(8, "stat", "Sessions", "How many assistant sessions (Claude Code, Gemini CLI) were started?",
              (15, 3, 4, 3), [sql(f"SELECT COALESCE(SUM(sessions), 0) AS sessions FROM {AI} WHERE {FA}")],
              "none", thresholds(("blue", None)), 0, STAT),
        panel(9, "stat", "Time Saved per Active User",
              "Estimated hours saved per developer who used an assistant in the period.", (19, 3, 5, 3),
              [sql(f"SELECT COALESCE(SUM(time_saved_s) / 3600 / NULLIF(COUNT(DISTINCT developer_id), 0), 0) "
                   f"AS hours_per_user FROM {AI} WHERE {FA}")],
              "h", thresholds(("blue", None)), 1, STAT),
        panel(10, "timeseries", "Suggestions over Time by Language",
              "Day by day, how many suggestions were shown in each language?", (0, 6, 12, 8),
              [sql(f"SELECT $__timeGroupAlias(date, 1d), language AS metric, SUM(suggestions_shown) AS value "
                   f"FROM {AI} WHERE {FA} GROUP BY 1, language ORDER BY 1", "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}}),
        panel(11, "timeseries", "Acceptance Rate over Time",
              "Day by day, what share of suggestions was accepted, per tool? Days without suggestions are gaps.",
              (12, 6, 12, 8),
              [sql(f"SELECT $__timeGroupAlias(date, 1d), tool AS metric, {RATE} AS value FROM {AI} WHERE {FA} "
                   "GROUP BY 1, tool HAVING SUM(suggestions_shown) > 0 ORDER BY 1", "time_series")],
              "percentunit", rate_steps, 0, TS,
              {"drawStyle": "line", "lineWidth": 2, "thresholdsStyle": {"mode": "line"}}),
        panel(12, "timeseries", "Lines Generated per Day",
              "Day by day, how many AI-written lines were kept, and how many removed, across the team?",
              (0, 14, 12, 8),
              [sql(f"SELECT $__timeGroupAlias(date, 1d), SUM(lines_added) AS `Lines Added`, "
                   f"SUM(lines_removed) AS `Lines Removed` FROM {AI} WHERE {FA} GROUP BY 1 ORDER BY 1", "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "bars", "fillOpacity": 50}),
        panel(13, "timeseries", "Time Saved per Day",
              "Day by day, the estimated hours AI assistants saved the selected developers.", (12, 14, 12, 8),
              [sql(f"SELECT $__timeGroupAlias(date, 1d), SUM(time_saved_s) / 3600 AS `Hours Saved` FROM {AI} "
                   f"WHERE {FA} GROUP BY 1 ORDER BY 1", "time_series")],
              "h", GREEN, 1, TS, {"drawStyle": "line", "lineWidth": 2, "fillOpacity": 20}),
        panel(14, "piechart", "Language Distribution",
              "In which languages are suggestions shown? Lines from tools that do not say count as unknown.",
              (0, 22, 8, 8),
              [sql(f"SELECT language, SUM(suggestions_shown) AS suggestions FROM {AI} WHERE {FA} "
                   "GROUP BY language HAVING SUM(suggestions_shown) > 0 ORDER BY suggestions DESC")],
              "none", GREEN, 0, pie),
        panel(15, "barchart", "Feature Usage",
              "Which features are used (completion, chat, explain, document, test, agent), counted in "
              "developer-days?", (8, 22, 8, 8),
              [sql(f"SELECT feature, COUNT(DISTINCT developer_id, date) AS developer_days FROM {AI} WHERE {FA} "
                   "GROUP BY feature ORDER BY developer_days DESC")],
              "none", GREEN, 0, BAR_H),
        panel(16, "barchart", "Acceptance Rate by Tool",
              "Which assistants' suggestions are accepted most often?", (16, 22, 8, 8),
              [sql(f"SELECT tool, {RATE} AS acceptance_rate FROM {AI} WHERE {FA} GROUP BY tool "
                   "HAVING SUM(suggestions_shown) > 0 ORDER BY acceptance_rate DESC")],
              "percentunit", rate_steps, 0, BAR_H),
        panel(22, "timeseries", "AI-assisted Commits and Pull Requests per Day",
              "Day by day, how many commits and pull requests did the agentic CLIs make? Claude Code counts "
              "its own; the other tools send no such count.", (0, 30, 12, 8),
              [sql(f"SELECT $__timeGroupAlias(date, 1d), SUM(commits) AS `Commits`, "
                   f"SUM(pull_requests) AS `Pull Requests` FROM {AI} WHERE {FA} GROUP BY 1 ORDER BY 1", "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "bars", "fillOpacity": 50}),
        panel(23, "timeseries", "Active Time with the AI CLI per Day",
              "Day by day, how long was the team actively using Claude Code (its active-time counter)?",
              (12, 30, 12, 8),
              [sql(f"SELECT $__timeGroupAlias(date, 1d), SUM(active_s) / 3600 AS `Active Hours` FROM {AI} "
                   f"WHERE {FA} GROUP BY 1 ORDER BY 1", "time_series")],
              "h", GREEN, 1, TS, {"drawStyle": "line", "lineWidth": 2, "fillOpacity": 20}),
        panel(24, "timeseries", "Agent Turns and Model API Requests per Day",
              "Day by day, how many turns did the agentic CLI run, and how many requests did it make to the "
              "model API for them? Codex counts both, Gemini CLI its API requests; Claude Code sends neither.", (0, 38, 24, 8),
              [sql(f"SELECT $__timeGroupAlias(date, 1d), SUM(turns) AS `Turns`, "
                   f"SUM(api_requests) AS `API Requests` FROM {AI} WHERE {FA} GROUP BY 1 ORDER BY 1", "time_series")],
              "none", GREEN, 0, TS, {"drawStyle": "bars", "fillOpacity": 50}),
        panel(17, "table", "Per Developer",
              "Per developer over the period: suggestions, acceptance, lines kept and the estimated time saved.",
              (0, 46, 24, 9),
              [sql(f"SELECT developer_id AS developer, COUNT(DISTINCT date) AS days_used, "
                   "SUM(suggestions_shown) AS shown, SUM(suggestions_accepted) AS accepted, "
                   f"{RATE} AS acceptance_rate, SUM(lines_added) AS lines_generated, "
                   "SUM(time_saved_s) / 3600 AS hours_saved, SUM(cost_usd) AS cost_usd "
                   f"FROM {AI} WHERE {FA} GROUP BY developer_id ORDER BY hours_saved DESC")],
              "none", GREEN, 1, table,
              units={"acceptance_rate": "percentunit", "hours_saved": "h", "cost_usd": "currencyUSD"}),
        row(18, "From Grafana Cloud / Mimir (Prometheus)", 55),
        panel(19, "stat", "Acceptance Rate (Prometheus)",
              "Accepted / shown over the period, from the devtel.ai.* gauges (`devtel-agent ai record`).",
              (0, 56, 8, 6),
              [promql(f"{_ai_prom('accepted')} / {_ai_prom('shown')}", "acceptance", instant=True)],
              "percentunit", rate_steps, 0, STAT),
        panel(20, "barchart", "Suggestions by Language (Prometheus)",
              "Suggestions shown per language over the period, from the devtel.ai.* gauges.", (8, 56, 8, 6),
              [promql(_ai_prom("shown", "devtel_ai_language"), "{{devtel_ai_language}}", instant=True)],
              "none", GREEN, 0, BAR_H),
        panel(21, "barchart", "Claude Code Edit Decisions by Language (Prometheus)",
              "Claude Code's proposed edits accepted and rejected per language over the period (its "
              "code_edit_tool.decision counter, sent with cumulative temporality).", (16, 56, 8, 6),
              [promql(f"sum by (language, decision) (increase({CLAUDE_DECISIONS}[$__range]))",
                      "{{language}} {{decision}}", instant=True)],
              "none", GREEN, 0, BAR_H),
    ]
    variables = [
        query_var("connection_id", "Connection",
                  f"SELECT DISTINCT connection_id FROM {AI} ORDER BY connection_id", multi=False),
        query_var("developer", "Developer",
                  f"SELECT DISTINCT developer_id FROM {AI} WHERE connection_id = ${{connection_id}} "
                  "AND $__timeFilter(date) ORDER BY developer_id", multi=True),
        query_var("tool", "Tool",
                  f"SELECT DISTINCT tool FROM {AI} WHERE connection_id = ${{connection_id}} "
                  "AND $__timeFilter(date) ORDER BY tool", multi=True),
        query_var("language", "Language",
                  f"SELECT DISTINCT language FROM {AI} WHERE connection_id = ${{connection_id}} "
                  "AND $__timeFilter(date) ORDER BY language", multi=True),
        prometheus_var(),
        query_var("ai_tool", "Tool (Prometheus)",
                  'label_values(devtel_ai_suggestions_shown, devtel_ai_tool)', multi=True,
                  datasource=PROM, all_value=".*"),
    ]
    return dashboard("devtel-ai-assistant", "AI Assistant",
                     "AI coding assistants: suggestions shown and accepted, lines generated, estimated time "
                     "saved, languages, features, active users, AI-assisted commits, active time, agent turns and "
                     "model requests (Claude Code, Gemini CLI, Codex, devtel ai record).",
                     panels, variables, time_from="now-30d", tags=("devtel", "ai"))


DASHBOARDS = {"DeveloperTelemetry.json": developer_telemetry, "InnerLoop.json": inner_loop,
              "Fleet.json": fleet, "AIAssistant.json": ai_assistant}


def render(build) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for name, build in DASHBOARDS.items():
        text, path = render(build), OUT / name
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python grafana/build_dashboards.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
