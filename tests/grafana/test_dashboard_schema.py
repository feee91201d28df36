"""The dashboards are valid Grafana dashboard JSON (the parts Grafana requires, as a JSON schema), their
uids are unique and fixed, DeveloperTelemetry.json is a drop-in for DevLake's, and the provisioning
files point at what the dashboards use."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import yaml

from tests.grafana.conftest import DASHBOARD_DIR, PROVISIONING_DIR, ROOT, TESTDATA, load_dashboards

DASHBOARDS = load_dashboards()
SCHEMA = json.loads((TESTDATA / "dashboard.schema.json").read_text())
# Stable uids: links, provisioned alerts (__dashboardUid__) and DevLake's menu point at these.
EXPECTED_UIDS = {
    "DeveloperTelemetry.json": "developer-telemetry",
    "InnerLoop.json": "devtel-inner-loop",
    "Fleet.json": "devtel-fleet",
    "AIAssistant.json": "devtel-ai-assistant",
}
DEVLAKE_PANELS = [
    "Active Hours by Developer",
    "Total Commits by Developer",
    "Total Lines Added by Developer",
    "Total Active Hours by Developer",
    "Average Active Hours by Day of Week",
    "Daily Commits - Top 10 Developers",
    "Code Churn (Lines Added vs Deleted)",
    "Test Runs Detected",
    "Developer Productivity Summary",
    "Total Commits",
    "Total Active Hours",
    "Total Lines Added",
    "Active Developers",
]


def test_the_dashboards_and_their_uids():
    assert {name: d["uid"] for name, d in DASHBOARDS.items()} == EXPECTED_UIDS


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_matches_the_schema(name):
    jsonschema.validate(DASHBOARDS[name], SCHEMA)


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panel_ids_unique_and_panels_do_not_overlap(name):
    panels = DASHBOARDS[name]["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{p['title']} overlaps another panel"
        cells |= mine


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_panel_has_description_unit_and_thresholds(name):
    for p in DASHBOARDS[name]["panels"]:
        if p["type"] == "row":
            continue
        defaults = p["fieldConfig"]["defaults"]
        assert len(p["description"]) > 20, p["title"]
        assert defaults["unit"], p["title"]
        steps = defaults["thresholds"]["steps"]
        assert steps[0]["value"] is None and all(s["value"] is not None for s in steps[1:]), p["title"]
        assert [s["value"] for s in steps[1:]] == sorted(s["value"] for s in steps[1:]), p["title"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_variable_a_query_uses_is_defined(name):
    d = DASHBOARDS[name]
    defined = {v["name"] for v in d["templating"]["list"]}
    text = json.dumps(d["panels"])
    for var in (
        "connection_id",
        "developer",
        "repository",
        "user",
        "prometheus",
        "tool",
        "language",
        "ai_tool",
    ):
        if "${" + var + "}" in text or "$" + var + " " in text:
            assert var in defined, f"{name} uses ${var} without defining it"


def test_developer_telemetry_is_a_drop_in_for_devlakes_dashboard():
    d = DASHBOARDS["DeveloperTelemetry.json"]
    assert d["title"] == "Developer Telemetry" and d["time"]["from"] == "now-6w"
    titles = [p["title"] for p in d["panels"]]
    assert titles[:13] == DEVLAKE_PANELS
    for p in d["panels"]:
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "mysql", "uid": "mysql"}
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "mysql"
            assert "connection_id = ${connection_id}" in t["rawSql"] and "$__timeFilter(" in t["rawSql"]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert (
        variables["connection_id"]["query"]
        == "SELECT DISTINCT connection_id FROM _tool_developer_metrics ORDER BY connection_id"
    )
    assert variables["developer"]["multi"] and variables["repository"]["multi"]


def test_inner_loop_has_mysql_and_prometheus_panels():
    panels = DASHBOARDS["InnerLoop.json"]["panels"]
    kinds = {t["datasource"]["type"] for p in panels for t in p.get("targets", [])}
    assert kinds == {"mysql", "prometheus"}


def test_json_files_are_what_the_builder_writes():
    result = subprocess.run(
        [sys.executable, str(ROOT / "grafana" / "build_dashboards.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_provisioning_datasources_have_the_uids_the_dashboards_use():
    doc = yaml.safe_load((PROVISIONING_DIR / "datasources" / "devtel.yaml").read_text())
    uids = {d["type"]: d["uid"] for d in doc["datasources"]}
    assert uids == {"mysql": "mysql", "prometheus": "prometheus", "loki": "loki"}
    variables = DASHBOARDS["InnerLoop.json"]["templating"]["list"]
    prom_var = next(v for v in variables if v["name"] == "prometheus")
    assert prom_var["current"]["value"] == uids["prometheus"]


def test_dashboard_provider_loads_the_dashboard_folder():
    doc = yaml.safe_load((PROVISIONING_DIR / "dashboards" / "devtel.yaml").read_text())
    (provider,) = doc["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    assert DASHBOARD_DIR.name == "dashboards"


def test_docs_describe_every_panel_and_its_question():
    docs = (ROOT / "docs" / "dashboards.md").read_text()
    for name, d in DASHBOARDS.items():
        assert name in docs and d["uid"] in docs
        for p in d["panels"]:
            assert p["title"] in docs, f"docs/dashboards.md does not describe {name}: {p['title']}"
            if p["type"] != "row":
                assert p["description"] in docs, f"docs/dashboards.md lacks the question of {p['title']}"


def test_ai_assistant_has_the_seeds_panels_on_mysql_and_prometheus():
    d = DASHBOARDS["AIAssistant.json"]
    titles = {p["title"] for p in d["panels"]}
    for seed_panel in (
        "Acceptance Rate",
        "Suggestions over Time by Language",
        "Total Suggestions",
        "Active Users",
        "Lines Generated",
        "Time Saved",
        "Language Distribution",
        "Feature Usage",
    ):
        assert seed_panel in titles
    gauge = next(p for p in d["panels"] if p["title"] == "Acceptance Rate")
    assert gauge["type"] == "gauge" and gauge["fieldConfig"]["defaults"]["unit"] == "percentunit"
    steps = [s["value"] for s in gauge["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 0.3, 0.5]  # red under the alert's 30%
    kinds = {t["datasource"]["type"] for p in d["panels"] for t in p.get("targets", [])}
    assert kinds == {"mysql", "prometheus"}
    for p in d["panels"]:
        for t in p.get("targets", []):
            if t["datasource"]["type"] == "mysql":
                assert (
                    "connection_id = ${connection_id}" in t["rawSql"] and "$__timeFilter(date)" in t["rawSql"]
                )
