"""The Collector configurations in collector-config/ parse, name only otelcol-contrib components, wire
every component into a pipeline, and use only environment variables the README documents.

otelcol-contrib itself cannot be installed in this environment (no binary downloads), so its own
``validate`` runs only where the binary is on PATH; everything else is checked here without it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "collector-config"
CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))
COMPONENTS = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "otelcol_contrib_components.yaml").read_text()
)
KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")
ENV_REF = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def component_type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def test_there_are_two_configs():
    assert [p.name for p in CONFIGS] == ["agent-relay.yaml", "gateway.yaml"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_parses_as_a_mapping_with_a_service(path):
    config = load(path)
    assert isinstance(config, dict) and set(config) <= {*KINDS, "service"}, sorted(config)
    assert config["service"]["pipelines"], "no pipelines"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_component_exists_in_otelcol_contrib(path):
    config = load(path)
    unknown = [
        f"{kind}: {cid}"
        for kind in KINDS
        for cid in (config.get(kind) or {})
        if component_type(cid) not in COMPONENTS[kind]
    ]
    assert not unknown, f"not in otelcol-contrib {COMPONENTS['version']}: {unknown}"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_defined_component_is_wired_and_every_wired_one_defined(path):
    config = load(path)
    service = config["service"]
    used: dict[str, set[str]] = {kind: set() for kind in KINDS}
    used["extensions"] = set(service.get("extensions", []))
    for name, pipeline in service["pipelines"].items():
        assert name.split("/")[0] in ("metrics", "logs", "traces"), name
        assert pipeline.get("receivers") and pipeline.get("exporters"), f"pipeline {name} is incomplete"
        for kind in ("receivers", "processors", "exporters"):
            used[kind].update(pipeline.get(kind, []))
    for kind in KINDS:
        defined = set(config.get(kind) or {})
        assert defined == used[kind], (
            f"{kind}: defined but unused {defined - used[kind]}, used but undefined {used[kind] - defined}"
        )


def _references(node, key: str):
    """Every value under a mapping key named ``key``, anywhere in the tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                yield v
            yield from _references(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item, key)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_authenticators_and_queue_storage_name_enabled_extensions(path):
    config = load(path)
    enabled = set(config["service"]["extensions"])
    refs = list(_references(config.get("exporters"), "authenticator")) + list(
        _references(config.get("exporters"), "storage")
    )
    assert refs, "no exporter is authenticated or queued on disk"
    assert set(refs) <= enabled, set(refs) - enabled


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_memory_limiter_is_first_in_every_pipeline(path):
    for name, pipeline in load(path)["service"]["pipelines"].items():
        assert pipeline["processors"][0].split("/")[0] == "memory_limiter", name


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_exporter_queues_on_disk_and_retries(path):
    for name, exporter in load(path)["exporters"].items():
        settings = exporter.get("protocol", {}).get("otlp", exporter)
        assert settings["sending_queue"]["storage"].startswith("file_storage"), name
        assert settings["retry_on_failure"]["enabled"] is True, name


def _documented_variables() -> set[str]:
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", (CONFIG_DIR / "README.md").read_text(), re.M))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_only_documented_environment_variables_are_referenced(path):
    text = path.read_text()
    referenced = set(ENV_REF.findall(text))
    assert referenced, "a config with no variables would hold its secrets inline"
    assert referenced <= _documented_variables(), referenced - _documented_variables()
    assert "${" not in ENV_REF.sub("", text), "a ${...} reference the check does not understand"


def test_relay_listens_on_loopback_only():
    for protocol in load(CONFIG_DIR / "agent-relay.yaml")["receivers"]["otlp"]["protocols"].values():
        assert protocol["endpoint"].startswith("127.0.0.1:")


def test_relay_fans_out_to_receiver_with_bearer_and_grafana_cloud_with_basic_auth():
    config = load(CONFIG_DIR / "agent-relay.yaml")
    auth = {name: e["auth"]["authenticator"] for name, e in config["exporters"].items()}
    assert auth == {
        "otlphttp/devtel": "bearertokenauth/devtel",
        "otlphttp/grafana_cloud": "basicauth/grafana_cloud",
    }
    for signal in ("metrics", "logs"):
        pipelines = [p for n, p in config["service"]["pipelines"].items() if n.split("/")[0] == signal]
        assert {e for p in pipelines for e in p["exporters"]} == set(auth)


def test_relay_makes_grafana_clouds_copy_cumulative():
    """Grafana Cloud rejects delta sums, which Claude Code and Codex send by default."""
    pipelines = load(CONFIG_DIR / "agent-relay.yaml")["service"]["pipelines"]
    for name, pipeline in pipelines.items():
        if name.startswith("metrics") and "otlphttp/grafana_cloud" in pipeline["exporters"]:
            assert "deltatocumulative" in pipeline["processors"]
            assert pipeline["exporters"] == ["otlphttp/grafana_cloud"]


def test_gateway_scrubs_personal_attributes_and_load_balances():
    config = load(CONFIG_DIR / "gateway.yaml")
    text = (CONFIG_DIR / "gateway.yaml").read_text()
    resource_allow = re.findall(r"keep_keys\(attributes, \[([^\]]*)\]\)", text)[0]
    for key in ("user.email", "user.full_name", "host.id", "host.ip"):
        assert f'"{key}"' not in resource_allow
        assert key not in config["processors"]["redaction/pii"]["allowed_keys"]
    deleted = {a.get("key") for a in config["processors"]["attributes/scrub"]["actions"]}
    assert {"user.email", "host.id"} <= deleted
    for pipeline in config["service"]["pipelines"].values():
        assert {"transform/scrub", "redaction/pii", "attributes/scrub"} <= set(pipeline["processors"])
        assert all(e.startswith("loadbalancing") for e in pipeline["exporters"])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_otelcol_contrib_validate_when_available(path):
    binary = shutil.which("otelcol-contrib")
    if binary is None:
        pytest.skip(
            "otelcol-contrib is not installed here (no binary downloads); see collector-config/README.md"
        )
    env = dict.fromkeys(_documented_variables(), "1")
    env.update(
        DEVTEL_RECEIVER_TLS_INSECURE="true",
        DEVTEL_RECEIVER_GRPC_PORT="4317",
        DEVTEL_RECEIVER_ENDPOINT="http://127.0.0.1:4318",
        GRAFANA_CLOUD_OTLP_ENDPOINT="https://127.0.0.1/otlp",
        DEVTEL_RELAY_STORAGE_DIR="/tmp",
        DEVTEL_GATEWAY_STORAGE_DIR="/tmp",
        DEVTEL_RECEIVER_DNS_NAME="localhost",
    )
    result = subprocess.run(
        [binary, "validate", f"--config={path}"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_gateway_forwards_each_agents_own_key_instead_of_holding_one():
    config = load(CONFIG_DIR / "gateway.yaml")
    for protocol in config["receivers"]["otlp"]["protocols"].values():
        assert protocol["include_metadata"] is True
    assert config["processors"]["batch"]["metadata_keys"] == ["authorization"]
    (header,) = config["extensions"]["headers_setter/agent_auth"]["headers"]
    assert header["key"].lower() == "authorization" and header["from_context"] == "authorization"
    assert "DEVTEL_API_KEY" not in (CONFIG_DIR / "gateway.yaml").read_text()


def _contract_keys() -> tuple[set[str], set[str]]:
    """(resource keys, point and record keys) the receiver reads, from the two contract modules."""
    from agent import ai_contract as ai
    from agent import contract as c

    resource = {v for k, v in vars(c).items() if k.startswith("RES_")} | set(ai.RESOURCE_KEYS)
    resource -= {c.RES_EMAIL, c.RES_FULL_NAME}  # personal data the gateway removes by design
    points = {v for k, v in vars(c).items() if k.startswith("ATTR_")} | set(c.BASE_FIELDS)
    points |= set(ai.COMMON_KEYS).union(*ai.METRICS.values(), *ai.EVENTS.values())
    return resource, points


def test_gateway_allowlists_keep_every_attribute_the_receiver_reads():
    """Checked against agent/contract.py and agent/ai_contract.py, so the gateway and the receiver
    cannot drift: base telemetry's install_id, heartbeat_at, …, devtel's day attributes, AI tools' keys."""
    text = (CONFIG_DIR / "gateway.yaml").read_text()
    config = load(CONFIG_DIR / "gateway.yaml")
    lists = [
        set(re.findall(r'"([^"]+)"', found))
        for found in re.findall(r"keep_keys\(attributes, \[([^\]]*)\]\)", text)
    ]
    metric_resource, datapoint, log_resource = lists
    resource, points = _contract_keys()
    assert resource - metric_resource == set() and resource - log_resource == set()
    assert points - datapoint == set()
    assert (resource | points) - set(config["processors"]["redaction/pii"]["allowed_keys"]) == set()


def test_relay_keeps_only_the_ai_contracts_names_and_keys():
    """The allowlist processors are exactly what agent/ai_contract.py says (tests/collector_config/
    relay_allowlist.py writes them from it): a changed contract and a stale file cannot both pass."""
    from tests.collector_config.relay_allowlist import FILTER, TRANSFORM, processors

    config = load(CONFIG_DIR / "agent-relay.yaml")
    for name, expected in processors().items():
        assert config["processors"][name] == expected, (
            f"{name} drifted from agent/ai_contract.py: run python -m tests.collector_config.relay_allowlist"
        )
    for name, pipeline in config["service"]["pipelines"].items():
        assert pipeline["processors"][1:3] == [FILTER, TRANSFORM], f"{name}: the allowlist must come first"


def test_relay_lets_no_private_key_through():
    """Read from the file itself: what the tools are known to send and must never leave the machine."""
    text = (CONFIG_DIR / "agent-relay.yaml").read_text()
    kept = {
        key
        for found in re.findall(r"keep_keys\(attributes, \[([^\]]*)\]\)", text)
        for key in re.findall(r'"([^"]+)"', found)
    }
    private = {
        "process.owner",
        "process.command_args",
        "host.name",
        "routing.reasoning",
        "gen_ai.system_instructions",
        "prompt",
        "arguments",
        "output",
        "user.name",
    }
    assert kept and not kept & private, kept & private
    assert 'set(body, "")' in text
