"""The Grafana-managed alert rules run their SQL on MariaDB, and their reduce/threshold steps, applied
as Grafana applies them, fire for exactly the cases the fake team was built to contain."""

from __future__ import annotations

import decimal

import pytest
import yaml

from tests.grafana.conftest import PROVISIONING_DIR, connect
from tests.grafana.grafana_sql import render

ALERTING = PROVISIONING_DIR / "alerting"
pytestmark = pytest.mark.mysql


def rules() -> dict[str, dict]:
    found = {}
    for path in sorted(ALERTING.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] == 1, path
        for group in doc["groups"]:
            for rule in group["rules"]:
                assert rule["uid"] not in found, f"duplicate alert uid {rule['uid']}"
                found[rule["uid"]] = rule
    return found


RULES = rules()


def test_the_rules_exist():
    assert set(RULES) == {
        "devtel-install-silent",
        "devtel-test-failure-rate-jump",
        "devtel-ai-acceptance-low",
    }
    ai = yaml.safe_load((ALERTING / "ai-assistant.yaml").read_text())
    (group,) = ai["groups"]
    assert group["name"] == "devtel-ai-assistant" and group["folder"] == "Developer Telemetry"
    assert [r["uid"] for r in group["rules"]] == ["devtel-ai-acceptance-low"]
    assert RULES["devtel-ai-acceptance-low"]["for"] == "2h"


@pytest.mark.parametrize("uid", sorted(RULES))
def test_rule_is_wired_condition_to_query(uid):
    rule = RULES[uid]
    refs = {d["refId"]: d for d in rule["data"]}
    assert rule["condition"] in refs
    for data in rule["data"]:
        if data["datasourceUid"] == "__expr__":
            assert data["model"]["expression"] in refs, data
        else:
            assert data["datasourceUid"] == "mysql" and data["model"]["format"] == "table"
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def evaluate(rule: dict, url: str) -> dict[tuple, float]:
    """Run the SQL query, then reduce (last) and threshold as Grafana does: {labels: value} that fire."""
    steps = {d["refId"]: d for d in rule["data"]}
    query = next(d for d in rule["data"] if d["datasourceUid"] == "mysql")
    end = 2_000_000_000  # the rules use UTC_TIMESTAMP(), not the time range; any range will do
    sql = render(query["model"]["rawSql"], {}, frozenset(), end - query["relativeTimeRange"]["from"], end)
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            columns = [d[0] for d in cur.description]
            rows = cur.fetchall()
    finally:
        conn.close()
    assert rows, f"{rule['uid']}: the query returned nothing"
    series = {}
    for row in rows:
        labels = tuple((c, v) for c, v in zip(columns, row, strict=True) if isinstance(v, str))
        values = [v for v in row if isinstance(v, int | float | decimal.Decimal)]
        assert len(values) == 1, f"{rule['uid']}: Grafana needs exactly one numeric column: {row}"
        assert labels not in series, f"{rule['uid']}: two rows with the same labels {labels}"
        series[labels] = float(values[0])
    threshold = steps[rule["condition"]]["model"]
    assert steps[threshold["expression"]]["model"]["reducer"] == "last"
    evaluator = threshold["conditions"][0]["evaluator"]
    limit = evaluator["params"][0]
    fires = {"gt": lambda v: v > limit, "lt": lambda v: v < limit}[evaluator["type"]]
    return {labels: v for labels, v in series.items() if fires(v)}


def silent_installs() -> set[str]:
    """The installs the generator made silent: three per team, the first three developers' laptops."""
    from bridge.fake.team import SILENT_INSTALLS, generate_installs
    from tests.grafana.conftest import OTHER_TEAM, TEAM

    silent = set()
    for team in (TEAM, OTHER_TEAM):
        args = dict(zip(team[::2], team[1::2], strict=True))
        installs = generate_installs(
            int(args["--developers"]), int(args["--weeks"]), seed=int(args["--seed"])
        )
        by_developer = list(dict.fromkeys(i.developer_id for i in installs))[:SILENT_INSTALLS]
        silent |= {next(i.install_id for i in installs if i.developer_id == d) for d in by_developer}
    return silent


@pytest.mark.parametrize("variant", ["json", "text"])
def test_install_silent_fires_for_exactly_the_silent_installs(team_db, variant):
    firing = evaluate(RULES["devtel-install-silent"], team_db[variant])
    assert {dict(labels)["install_id"] for labels in firing} == silent_installs()
    assert all(48 < hours < 24 * 10 for hours in firing.values())


@pytest.mark.parametrize("variant", ["json", "text"])
def test_failure_rate_jump_fires_only_for_the_repository_that_jumped(team_db, variant):
    firing = evaluate(RULES["devtel-test-failure-rate-jump"], team_db[variant])
    assert firing and {dict(labels)["repository"] for labels in firing} == {"mobile-app"}


@pytest.mark.parametrize("variant", ["json", "text"])
def test_ai_acceptance_low_fires_only_for_the_tool_that_fell(team_db, variant):
    from tests.grafana.ai_team import LOW_ACCEPTANCE_TOOL

    firing = evaluate(RULES["devtel-ai-acceptance-low"], team_db[variant])
    assert {dict(labels)["tool"] for labels in firing} == {LOW_ACCEPTANCE_TOOL}
    assert {dict(labels)["connection_id"] for labels in firing} == {"1", "2"}
    assert all(0.1 < rate < 0.2 for rate in firing.values())
