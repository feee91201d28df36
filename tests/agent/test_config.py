"""Config: bad files name file, line and key and change nothing; OTEL_* and legacy sources."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import load_settings
from agent.errors import ConfigError


def test_invalid_toml_names_file_and_line(env: dict[str, str]) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text('[identity]\nmode = "named"\nbroken = \n')
    with pytest.raises(ConfigError, match=rf"{env['DEVTEL_CONFIG']}:3: invalid TOML"):
        load_settings(os.environ)


def test_wrong_type_names_file_line_and_key(env: dict[str, str]) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text(
        '[agent]\nrelease_channel = "beta"\n\n[outbox]\nmax_bytes = "lots"\n'
    )
    with pytest.raises(
        ConfigError, match=r"agent.toml:5: key 'outbox.max_bytes': expected int, got str 'lots'"
    ):
        load_settings(os.environ)


def test_unknown_key_in_sink_names_its_line(env: dict[str, str]) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text(
        '[sinks.main]\ntype = "otlp"\nendpoint = "http://x"\nendpiont = "y"\n'
    )
    with pytest.raises(ConfigError, match=r"agent.toml:4: key 'sinks.main.endpiont': unknown key"):
        load_settings(os.environ)


def test_user_file_cannot_set_policy_only_consent_keys(env: dict[str, str]) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text('[consent]\ndefault = "detailed"\n')
    with pytest.raises(ConfigError, match=r"agent.toml:2: key 'consent.default': only the managed policy"):
        load_settings(os.environ)


def test_pseudonymous_without_salt_is_refused(env: dict[str, str]) -> None:
    Path(env["DEVTEL_POLICY"]).write_text('[identity]\nmode = "pseudonymous"\n')
    with pytest.raises(ConfigError, match=r"policy.toml.*identity.salt"):
        load_settings(os.environ)


def test_bad_config_makes_the_cli_exit_2_without_creating_state(env: dict[str, str], capsys) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text("[sinks.main]\ntype = 3\n")
    assert main(["status"]) == 2
    assert "agent.toml:2: key 'sinks.main.type'" in capsys.readouterr().err
    assert not Path(env["DEVTEL_HOME"]).exists()


def test_policy_identity_wins_over_user(env: dict[str, str]) -> None:
    Path(env["DEVTEL_POLICY"]).write_text('[identity]\nmode = "pseudonymous"\nsalt = "org"\n')
    Path(env["DEVTEL_CONFIG"]).write_text('[identity]\nmode = "named"\n')
    settings = load_settings(os.environ)
    assert (settings.identity_mode, settings.salt, settings.managed) == ("pseudonymous", "org", True)


def test_otel_env_defines_a_sink_with_per_signal_overrides(env: dict[str, str], monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9999/custom")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20abc,x-team=core")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "authorization=Bearer%20m")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")
    (sink,) = load_settings(os.environ).sinks
    assert sink.endpoints == {
        "metrics": "http://collector:4318/v1/metrics",
        "logs": "http://logs:9999/custom",
    }
    assert sink.headers == {"authorization": "Bearer m"}
    assert (sink.protocol, sink.compression, sink.timeout) == ("http/protobuf", "gzip", 2.5)


@pytest.mark.parametrize(
    ("name", "value", "field", "default"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon", "protocol", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon", "timeout", 10.0),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "-5", "timeout", 10.0),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "nan", "timeout", 10.0),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", "compression", "none"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "no-equals-sign", "headers", {}),
        ("OTEL_EXPORTER_OTLP_HEADERS", "bad%20name=v", "headers", {}),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem", "certificate", None),
        ("OTEL_EXPORTER_OTLP_INSECURE", "maybe", "insecure", False),
    ],
)
def test_an_invalid_otel_value_is_warned_about_and_ignored(
    env: dict[str, str], monkeypatch, capsys, name: str, value: str, field: str, default: object
) -> None:
    """The specification: warn and treat the setting as not set; never fatal."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv(name, value)
    (sink,) = load_settings(os.environ).sinks
    assert getattr(sink, field) == default
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"devtel-agent: warning: {name}={value!r}: ") and line.endswith("; ignored")


def test_an_invalid_per_signal_value_falls_back_to_the_general_one(env: dict[str, str], monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "4000")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "never")
    (sink,) = load_settings(os.environ).sinks
    assert sink.for_signal("logs").timeout == 4.0 == sink.for_signal("metrics").timeout


def test_bad_resource_attributes_are_warned_about_and_dropped(
    env: dict[str, str], monkeypatch, capsys
) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=core,oops")
    assert load_settings(os.environ).resource_attributes == {}
    assert "OTEL_RESOURCE_ATTRIBUTES ignored" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('zone = "eu-west-2"', "zone"),
        ('zone = "prod-eu-west-2.grafana.net"', "zone"),
        ('zone = "prod-eu-west"', "zone"),
        ('instance_id = "12ab"', "instance_id"),
        ('token = " "', "token"),
    ],
)
def test_grafana_cloud_zone_and_instance_are_checked(env: dict[str, str], line: str, key: str) -> None:
    good = {"zone": '"prod-eu-west-2"', "instance_id": "123456", "token": '"glc_x"'}
    good[key] = line.split(" = ", 1)[1]
    body = "".join(f"{k} = {v}\n" for k, v in good.items())
    Path(env["DEVTEL_CONFIG"]).write_text(f'[sinks.g]\ntype = "grafana_cloud"\n{body}')
    with pytest.raises(ConfigError, match=rf"key 'sinks.g.{key}': "):
        load_settings(os.environ)


def test_a_grafana_cloud_zone_of_the_gateways_form_is_accepted(env: dict[str, str]) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text(
        '[sinks.g]\ntype = "grafana_cloud"\nzone = "prod-ap-southeast-1"\ninstance_id = 42\ntoken = "glc_x"\n'
    )
    (sink,) = load_settings(os.environ).sinks
    assert sink.endpoints["metrics"] == "https://otlp-gateway-prod-ap-southeast-1.grafana.net/otlp/v1/metrics"


def test_grafana_cloud_becomes_gateway_with_basic_auth(env: dict[str, str]) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text(
        '[sinks.grafana]\ntype = "grafana_cloud"\nzone = "prod-eu-west-2"\n'
        'instance_id = 123456\ntoken = "glc_x"\n'
    )
    (sink,) = load_settings(os.environ).sinks
    assert sink.endpoints["metrics"] == "https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/metrics"
    assert sink.headers["Authorization"] == "Basic " + base64.b64encode(b"123456:glc_x").decode()
    assert (sink.protocol, sink.compression) == ("http/protobuf", "gzip")


def test_legacy_config_json_is_read_when_present(env: dict[str, str]) -> None:
    Path(env["DEVTEL_LEGACY_CONFIG"]).write_text(
        json.dumps(
            {
                "webhook_url": "http://devlake/api/rest/plugins/developer_telemetry/connections/2/report",
                "api_key": "k" * 128,
                "webhook_url_secondary": "http://hook",
            }
        )
    )
    (sink,) = load_settings(os.environ).sinks
    assert (sink.type, sink.secondary_url) == ("devlake", "http://hook")
    assert sink.headers["Authorization"] == "Bearer " + "k" * 128


def test_malformed_legacy_config_names_the_file(env: dict[str, str]) -> None:
    Path(env["DEVTEL_LEGACY_CONFIG"]).write_text('{"webhook_url": ')
    with pytest.raises(ConfigError, match=r"legacy-config.json:1: invalid JSON"):
        load_settings(os.environ)


def test_kill_switches_are_read(env: dict[str, str], monkeypatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "TRUE")
    assert load_settings(os.environ).kill_switch == "OTEL_SDK_DISABLED"


def test_missing_ca_bundle_names_file_line_and_key(env: dict[str, str]) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text(
        '[sinks.main]\ntype = "otlp"\nendpoint = "https://x"\ncertificate = "/nonexistent/ca.pem"\n'
    )
    with pytest.raises(
        ConfigError, match=r"agent.toml:4: key 'sinks.main.certificate': '/nonexistent/ca.pem'"
    ):
        load_settings(os.environ)


def test_devtel_emails_must_be_addresses(env: dict[str, str]) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text('[devtel]\nemails = ["me@old.example", "not-an-address"]\n')
    with pytest.raises(ConfigError, match=r"key 'devtel.emails': 'not-an-address' is not an email address"):
        load_settings(os.environ)
    assert not Path(env["DEVTEL_HOME"]).exists()


@pytest.mark.parametrize(
    ("text", "key", "shown"),
    [
        ("[agent]\ninterval_seconds = 0\n", "agent.interval_seconds", "0"),
        ("[agent]\ninterval_seconds = nan\n", "agent.interval_seconds", "nan"),
        ("[agent]\npoll_seconds = inf\n", "agent.poll_seconds", "inf"),
        ("[agent]\npoll_seconds = -1.5\n", "agent.poll_seconds", "-1.5"),
        ("[outbox]\nbackoff_max_seconds = -inf\n", "outbox.backoff_max_seconds", "-inf"),
        ("[outbox]\nmax_bytes = 0\n", "outbox.max_bytes", "0"),
        ("[relay]\nhttp_port = -1\n", "relay.http_port", "-1"),
        ("[relay]\ngrpc_port = 70000\n", "relay.grpc_port", "70000"),
        (
            '[sinks.m]\ntype = "otlp"\nendpoint = "http://x"\ntimeout_seconds = 0\n',
            "sinks.m.timeout_seconds",
            "0",
        ),
        (
            '[sinks.m]\ntype = "otlp"\nendpoint = "http://x"\ntimeout_seconds = nan\n',
            "sinks.m.timeout_seconds",
            "nan",
        ),
        (
            '[sinks.m]\ntype = "otlp"\nendpoint = "http://x"\n[sinks.m.headers]\n"X-Key\\r\\nEvil" = "v"\n',
            "sinks.m.headers",
            "'X-Key\\r\\nEvil'",
        ),
        (
            '[sinks.m]\ntype = "otlp"\nendpoint = "http://x"\n[sinks.m.headers]\n"X Key" = "v"\n',
            "sinks.m.headers",
            "'X Key'",
        ),
        (
            '[sinks.m]\ntype = "otlp"\nendpoint = "http://x"\n[sinks.m.headers]\nX-Key = "a\\nb"\n',
            "sinks.m.headers",
            "'a\\nb'",
        ),
    ],
)
def test_nonsense_numbers_and_headers_are_one_line_naming_file_key_and_value(
    env: dict[str, str], capsys, text: str, key: str, shown: str
) -> None:
    """Each bad value is refused by every command with one line: file, key, value; nothing runs."""
    Path(env["DEVTEL_CONFIG"]).write_text(text)
    assert main(["collect"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"devtel-agent: error: {env['DEVTEL_CONFIG']}:")
    assert f"key '{key}'" in err and shown in err
    assert not (Path(env["DEVTEL_HOME"]) / "outbox.db").exists()


def test_relay_port_zero_still_turns_that_port_off(env: dict[str, str]) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text("[relay]\nhttp_port = 0\n")
    assert load_settings(os.environ).relay_http_port == 0
