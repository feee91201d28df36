"""Every PromQL expression in the dashboards and the alert rules is checked by promtool and evaluated
by a real Prometheus over devtel's metrics under the names Grafana Cloud gives them.

Prometheus comes from Debian's ``prometheus`` package (promtool and prometheus 2.42 here). The samples
are backfilled with ``promtool tsdb create-blocks-from openmetrics``; the test starts Prometheus on a
loopback port over those blocks and stops it at the end.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.grafana import prom_samples
from tests.grafana.conftest import ROOT, load_dashboards
from tests.support.ci import unavailable

RULES = ROOT / "grafana" / "rules" / "devtel.rules.yaml"
DASHBOARDS = load_dashboards()
RANGE = f"{prom_samples.DAYS}d"
# What Grafana puts in for its variables when the dashboard shows its whole range, all users.
GRAFANA_VARIABLES = {
    "$__range": RANGE,
    "${__range}": RANGE,
    "${user}": ".*",
    "${ai_tool}": ".*",
    "$user": ".*",
    "$__rate_interval": "2m",
    "$__interval": "30m",
}

needs_prometheus = pytest.mark.skipif(
    shutil.which("promtool") is None or shutil.which("prometheus") is None,
    reason="promtool/prometheus missing: apt-get install -y prometheus (Debian's package)",
)


def interpolate(expr: str) -> str:
    for name, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(name, value)
    assert "$" not in expr, f"a Grafana variable the test does not know: {expr}"
    return expr


def dashboard_targets() -> list[tuple[str, str, dict]]:
    return [
        (name, p["title"], t)
        for name, d in DASHBOARDS.items()
        for p in d["panels"]
        for t in p.get("targets", [])
        if t["datasource"]["type"] == "prometheus"
    ]


def rule_expressions() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(r.get("alert") or r["record"], r["expr"]) for g in groups for r in g["rules"]]


PANEL_CASES = [(f"{name}:{title}:{t['refId']}", t) for name, title, t in dashboard_targets()]
RULE_CASES = rule_expressions()


def test_there_are_prometheus_panels_and_rules():
    assert len(PANEL_CASES) >= 4 and len(RULE_CASES) >= 2


@needs_prometheus
def test_promtool_accepts_every_expression(tmp_path):
    """promtool has no expression checker; it checks rule files, so every expression becomes a rule."""
    rules = [
        {"record": f"devtel:check_{i}", "expr": interpolate(t["expr"])}
        for i, (_, t) in enumerate(PANEL_CASES)
    ]
    path = tmp_path / "expressions.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard-expressions", "rules": rules}]}))
    for file in (path, RULES):
        result = subprocess.run(["promtool", "check", "rules", str(file)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> Iterator[str]:
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        unavailable("promtool/prometheus missing: apt-get install -y prometheus (Debian's package)")
    work = tmp_path_factory.mktemp("prometheus")
    samples = work / "samples.om"
    samples.write_text(prom_samples.openmetrics())
    data = work / "data"
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(samples), str(data)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    config = work / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=100y",
            "--query.lookback-delta=5m",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(work / "prometheus.log").open("w"),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/api/v1/status/buildinfo")["status"] == "success":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((work / "prometheus.log").read_text()[-2000:])
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def query(base: str, expr: str, instant: bool = True) -> list[dict]:
    if instant:
        params = {"query": expr, "time": prom_samples.END}
        url = f"{base}/api/v1/query?{urllib.parse.urlencode(params)}"
    else:
        params = {
            "query": expr,
            "start": prom_samples.END - prom_samples.DAYS * 86400,
            "end": prom_samples.END,
            "step": 3600,
        }
        url = f"{base}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    body = _get(url)
    assert body["status"] == "success", body
    return body["data"]["result"]


@pytest.mark.parametrize(("case", "target"), PANEL_CASES, ids=[c for c, _ in PANEL_CASES])
def test_dashboard_expression_returns_series(prometheus, case, target):
    result = query(prometheus, interpolate(target["expr"]), instant=target["instant"])
    assert result, f"{case}: no series"
    values = [
        float(v)
        for s in result
        for v in ([s["value"][1]] if target["instant"] else [p[1] for p in s["values"]])
    ]
    assert any(v == v and v not in (float("inf"), float("-inf")) for v in values), f"{case}: {values[:5]}"


def test_user_variable_lists_the_users(prometheus):
    """The Prometheus variable label_values(target_info{job="devtel-agent"}, user_id)."""
    var = next(v for v in DASHBOARDS["InnerLoop.json"]["templating"]["list"] if v["name"] == "user")
    assert var["query"] == 'label_values(target_info{job="devtel-agent"}, user_id)'
    params = urllib.parse.urlencode(
        {
            "match[]": 'target_info{job="devtel-agent"}',
            "start": prom_samples.END - 86400 * prom_samples.DAYS,
            "end": prom_samples.END,
        }
    )
    users = _get(f"{prometheus}/api/v1/label/user_id/values?{params}")["data"]
    assert sorted(users) == sorted(u for _, u, _ in prom_samples.INSTALLS)


def test_install_silent_rule_finds_exactly_the_silent_install(prometheus):
    expr = dict(RULE_CASES)["DevtelInstallSilent"]
    assert [s["metric"]["instance"] for s in query(prometheus, expr)] == [prom_samples.SILENT_INSTALL]


def test_failure_rate_jump_rule_finds_exactly_the_jumping_repository(prometheus):
    expr = dict(RULE_CASES)["DevtelTestFailureRateJump"]
    assert [s["metric"]["vcs_repository_name"] for s in query(prometheus, expr)] == ["mobile-app"]


def test_ai_acceptance_rule_finds_exactly_the_tool_that_fell(prometheus):
    expr = dict(RULE_CASES)["DevtelAIAcceptanceLow"]
    assert [s["metric"]["devtel_ai_tool"] for s in query(prometheus, expr)] == [
        prom_samples.LOW_ACCEPTANCE_TOOL
    ]


@needs_prometheus
def test_promtool_unit_tests_for_the_alert_rules():
    result = subprocess.run(
        ["promtool", "test", "rules", "devtel.rules.test.yaml"],
        cwd=Path(__file__).parent / "testdata",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
