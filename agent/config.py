"""The agent's settings: the managed policy, the user's TOML, the legacy config.json and the
OTEL_* variables, merged into one validated ``Settings``.

Config is plain data checked by one ``validate`` step; every error names the file, the line
and the key, and nothing is applied from a file that fails.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
import sys
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import env as E
from agent.errors import ConfigError

LEVELS = ("off", "base", "detailed")
IDENTITY_MODES = ("named", "pseudonymous")
OTLP_PROTOCOLS = ("http/protobuf", "http/json", "grpc")
COMPRESSIONS = ("gzip", "none")
SINK_TYPES = ("otlp", "grafana_cloud", "devlake")
GRAFANA_ENDPOINT = "https://otlp-gateway-{zone}.grafana.net/otlp"
# The zone as the gateway's host name carries it: prod-<region>-<area>-<n>, e.g. prod-eu-west-2.
GRAFANA_ZONE = re.compile(r"^prod-[a-z]{2,}-[a-z]+-[0-9]+$")

# (section, key) -> (type, allowed values or None). Sinks are checked by _SINK_KEYS.
_SCHEMA: dict[tuple[str, str], tuple[type | tuple[type, ...], tuple[str, ...] | None]] = {
    ("identity", "mode"): (str, IDENTITY_MODES),
    ("identity", "salt"): (str, None),
    ("identity", "developer_id"): (str, None),
    ("identity", "allow_paths"): (bool, None),
    ("identity", "allow_names"): (list, None),
    ("consent", "default"): (str, LEVELS),
    ("consent", "max"): (str, LEVELS),
    ("agent", "release_channel"): (str, None),
    ("agent", "interval_seconds"): ((int, float), None),
    ("agent", "poll_seconds"): ((int, float), None),
    ("agent", "catch_up_days"): (int, None),
    ("outbox", "max_bytes"): (int, None),
    ("outbox", "backoff_base_seconds"): ((int, float), None),
    ("outbox", "backoff_max_seconds"): ((int, float), None),
    ("collectors", "enabled"): (bool, None),
    ("collectors", "roots"): (list, None),
    ("collectors", "depth"): (int, None),
    ("collectors", "emails"): (list, None),
    ("collectors", "repositories"): (list, None),
    ("collectors", "gap_minutes"): (int, None),
    ("collectors", "max_files_per_repository"): (int, None),
    ("collectors", "tools"): (dict, None),
    ("devtel", "emails"): (list, None),
    ("shell", "enabled"): (bool, None),
    ("shell", "rules"): (dict, None),
    ("shell", "ignore"): (list, None),
    ("relay", "enabled"): (bool, None),
    ("relay", "http_port"): (int, None),
    ("relay", "grpc_port"): (int, None),
}
_SINK_KEYS: dict[str, tuple[type | tuple[type, ...], tuple[str, ...] | None]] = {
    "type": (str, SINK_TYPES),
    "protocol": (str, OTLP_PROTOCOLS),
    "endpoint": (str, None),
    "headers": (dict, None),
    "compression": (str, COMPRESSIONS),
    "timeout_seconds": ((int, float), None),
    "zone": (str, None),
    "instance_id": ((str, int), None),
    "token": (str, None),
    "url": (str, None),
    "api_key": (str, None),
    "secondary_url": (str, None),
    "certificate": (str, None),
    "insecure": (bool, None),
}
# Durations, sizes and counts where zero or less makes no sense: 0 s between rounds floods the
# receiver, a 0 s timeout never sends. (Relay ports may be 0: that turns the relay port off;
# the [collectors] counts are checked by agent/collectors/settings.py.)
_POSITIVE = frozenset(
    {
        "interval_seconds",
        "poll_seconds",
        "max_bytes",
        "backoff_base_seconds",
        "backoff_max_seconds",
        "timeout_seconds",
    }
)
# RFC 9110 field-name: a token. Anything else (a space, a colon, a control character) would
# split or corrupt the request.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
HEADER_VALUE_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Only the organisation decides these; a user file that sets them is an error.
_POLICY_ONLY = {("consent", "default"), ("consent", "max")}


@dataclass(frozen=True)
class SignalSettings:
    """What may differ per signal (the OTEL_EXPORTER_OTLP_LOGS_* / _METRICS_* variables)."""

    headers: Mapping[str, str]
    compression: str
    timeout: float


@dataclass(frozen=True)
class SinkConfig:
    """One destination, already resolved to what the sender needs."""

    name: str
    type: str  # "otlp" | "grafana_cloud" | "devlake"
    protocol: str = E.DEFAULT_PROTOCOL  # devlake sinks use "json"
    endpoints: Mapping[str, str] = field(default_factory=dict)  # signal -> full URL (or host:port for grpc)
    headers: Mapping[str, str] = field(default_factory=dict)
    compression: str = "none"
    timeout: float = E.DEFAULT_TIMEOUT_SECONDS
    secondary_url: str | None = None
    certificate: str | None = None  # a CA bundle to trust for https / gRPC over TLS
    insecure: bool = False  # gRPC without a scheme: plaintext instead of TLS
    signals: Mapping[str, SignalSettings] = field(default_factory=dict)  # per-signal overrides

    def for_signal(self, signal: str) -> SignalSettings:
        """The headers, compression and timeout that apply to ``signal``'s requests."""
        return self.signals.get(signal) or SignalSettings(self.headers, self.compression, self.timeout)


@dataclass(frozen=True)
class Settings:
    """Everything the agent decides from files and environment, validated."""

    home: Path
    config_path: Path
    policy_path: Path
    managed: bool
    sinks: tuple[SinkConfig, ...]
    identity_mode: str = "named"
    salt: str | None = None
    developer_id: str | None = None
    allow_paths: bool = False
    consent_default: str = "base"
    consent_max: str = "detailed"
    release_channel: str = "stable"
    interval_seconds: float = 300.0
    poll_seconds: float = 30.0
    outbox_max_bytes: int = 50 * 1024 * 1024
    backoff_base: float = 1.0
    backoff_max: float = 300.0  # a receiver that is back is noticed within five minutes
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    kill_switch: str | None = None
    collectors: Mapping[str, Any] = field(default_factory=dict)  # the validated [collectors] table
    shell: Mapping[str, Any] = field(default_factory=dict)  # the validated [shell] table
    relay_enabled: bool = True  # `run` relays AI tools' OTLP from 127.0.0.1 (agent/relay.py)
    # Not the standard 4318/4317, which a developer's own Collector or Jaeger needs (docs/ai.md).
    relay_http_port: int = 4328  # OTLP/HTTP; 0 turns it off
    relay_grpc_port: int = 4327  # OTLP/gRPC; 0 turns it off
    extra_emails: tuple[str, ...] = ()  # [devtel] emails: the developer's other git addresses
    # Repository and branch names sent in clear under pseudonymous identities; all others are
    # keyed hashes. Branch names that cannot carry a person's name are allowed by default.
    allow_names: tuple[str, ...] = ("main", "master", "develop", "trunk")
    catch_up_days: int = 14  # `run` at start: the days since the last one delivered, at most this many


def _line_of(text: str, table: str, key: str) -> int | None:
    """The line where ``key`` is assigned inside ``[table]`` (or, failing that, anywhere)."""
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*$")
    assign = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    current, fallback = "", None
    for number, line in enumerate(text.splitlines(), start=1):
        match = header.match(line)
        if match:
            current = match.group(1).replace('"', "").replace("'", "").replace(" ", "")
        elif assign.match(line):
            if current == table:
                return number
            fallback = fallback or number
    return fallback


class _Source:
    """One TOML file's text and data, able to word errors about it."""

    def __init__(self, path: Path, text: str, data: dict[str, Any]) -> None:
        self.path, self.text, self.data = path, text, data

    def error(self, table: str, key: str, problem: str) -> ConfigError:
        line = _line_of(self.text, table, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        dotted = f"{table}.{key}" if table else key
        return ConfigError(f"{where}: key '{dotted}': {problem}")


def _load_toml(path: Path) -> _Source | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _lineno_from(str(exc))
        raise ConfigError(f"{path}:{line}: invalid TOML: {exc}") from exc
    return _Source(path, text, data)


def _lineno_from(message: str) -> str:
    match = re.search(r"line (\d+)", message)
    return match.group(1) if match else "?"


def _check(
    source: _Source, table: str, key: str, value: Any, spec: tuple[Any, tuple[str, ...] | None]
) -> None:
    kind, choices = spec
    if isinstance(value, bool) and kind in (int, float, (int, float), (str, int)):
        raise source.error(table, key, f"expected a number, got {value!r}")
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise source.error(table, key, f"expected {expected}, got {type(value).__name__} {value!r}")
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        raise source.error(table, key, f"expected a list of strings, got {value!r}")
    if isinstance(value, dict) and kind is dict and not all(isinstance(v, str) for v in value.values()):
        raise source.error(table, key, "expected a table of strings")
    if choices is not None and value not in choices:
        raise source.error(table, key, f"{value!r} is not one of {', '.join(choices)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise source.error(table, key, f"must be a finite number, got {value!r}")
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise source.error(table, key, f"must not be negative, got {value!r}")
    if key in _POSITIVE and value <= 0:
        raise source.error(table, key, f"must be greater than zero, got {value!r}")
    if key.endswith("_port") and value > 65535:
        raise source.error(table, key, f"must be a port from 0 to 65535, got {value!r}")
    if key == "headers":
        problem = header_problem(value)
        if problem:
            raise source.error(table, key, problem)


def header_problem(headers: Mapping[str, str]) -> str | None:
    """Why these headers cannot go on a request (a name that is not a token, a control
    character in a value), or None."""
    for name, value in headers.items():
        if not HEADER_NAME.match(name):
            return f"header name {name!r} is not a valid HTTP field name"
        if HEADER_VALUE_BAD.search(value):
            return f"header {name!r} has a control character in its value {value!r}"
    return None


def validate(source: _Source, *, is_policy: bool) -> None:
    """Check every key of one file; raise ConfigError naming file, line and key on the first fault."""
    for section, body in source.data.items():
        if section == "sinks":
            _validate_sinks(source, body)
            continue
        if not isinstance(body, dict) or not any(s == section for s, _ in _SCHEMA):
            raise source.error("", section, "unknown section")
        for key, value in body.items():
            spec = _SCHEMA.get((section, key))
            if spec is None:
                raise source.error(section, key, "unknown key")
            if not is_policy and (section, key) in _POLICY_ONLY:
                raise source.error(section, key, f"only the managed policy can set this ({E.DEFAULT_POLICY})")
            _check(source, section, key, value, spec)


def _validate_sinks(source: _Source, sinks: Any) -> None:
    if not isinstance(sinks, dict):
        raise source.error("", "sinks", "expected tables [sinks.NAME]")
    for name, body in sinks.items():
        table = f"sinks.{name}"
        if not isinstance(body, dict):
            raise source.error("sinks", name, "expected a table")
        for key, value in body.items():
            spec = _SINK_KEYS.get(key)
            if spec is None:
                raise source.error(table, key, "unknown key")
            _check(source, table, key, value, spec)
        kind = body.get("type")
        if kind is None:
            raise source.error(table, "type", f"missing; one of {', '.join(SINK_TYPES)}")
        required = {
            "otlp": ("endpoint",),
            "grafana_cloud": ("zone", "instance_id", "token"),
            "devlake": ("url",),
        }
        for key in required[kind]:
            if key not in body and not (kind == "grafana_cloud" and key == "zone" and "endpoint" in body):
                raise source.error(table, key, f"required for a {kind} sink")
        if kind == "grafana_cloud":
            _validate_grafana(source, table, body)
        if "certificate" in body and not Path(body["certificate"]).expanduser().is_file():
            raise source.error(table, "certificate", f"{body['certificate']!r} is not a readable file")
        for key in ("endpoint", "url", "secondary_url"):
            grpc_endpoint = key == "endpoint" and body.get("protocol") == "grpc"  # host:port is fine there
            if (
                key in body
                and not grpc_endpoint
                and urllib.parse.urlsplit(body[key]).scheme not in ("http", "https")
            ):
                raise source.error(table, key, f"{body[key]!r} is not an http(s) URL")


def _validate_grafana(source: _Source, table: str, body: dict[str, Any]) -> None:
    """A zone or instance id the gateway cannot have fails here, not as a DNS error at every send."""
    zone = body.get("zone")
    if zone is not None and not GRAFANA_ZONE.match(zone):
        raise source.error(
            table, "zone", f"{zone!r} is not a Grafana Cloud zone, which looks like 'prod-eu-west-2'"
        )
    instance = str(body.get("instance_id", ""))
    if not instance.isdigit():
        raise source.error(table, "instance_id", f"{instance!r} is not a Grafana Cloud instance id (digits)")
    if not body.get("token", "").strip():
        raise source.error(table, "token", "empty; a Grafana Cloud access policy token")


def _signal_urls(base: str, protocol: str) -> dict[str, str]:
    if protocol == "grpc":
        return {"metrics": base, "logs": base}
    base = base.rstrip("/")
    return {"metrics": f"{base}/v1/metrics", "logs": f"{base}/v1/logs"}


def _sink_from_table(name: str, body: dict[str, Any]) -> SinkConfig:
    kind = body["type"]
    timeout = float(body.get("timeout_seconds", E.DEFAULT_TIMEOUT_SECONDS))
    headers = {str(k): str(v) for k, v in body.get("headers", {}).items()}
    if kind == "devlake":
        if "api_key" in body:
            headers["Authorization"] = f"Bearer {body['api_key']}"
        return SinkConfig(
            name, kind, "json", {"report": body["url"]}, headers, "none", timeout, body.get("secondary_url")
        )
    if kind == "grafana_cloud":
        # Grafana Cloud's OTLP gateway: http/protobuf, gzip, Basic instance:token.
        endpoint = body.get("endpoint") or GRAFANA_ENDPOINT.format(zone=body["zone"])
        secret = base64.b64encode(f"{body['instance_id']}:{body['token']}".encode()).decode()
        headers["Authorization"] = f"Basic {secret}"
        protocol, compression = body.get("protocol", "http/protobuf"), body.get("compression", "gzip")
        return SinkConfig(
            name, kind, protocol, _signal_urls(endpoint, protocol), headers, compression, timeout
        )
    protocol = body.get("protocol", E.DEFAULT_PROTOCOL)
    return SinkConfig(
        name,
        kind,
        protocol,
        _signal_urls(body["endpoint"], protocol),
        headers,
        body.get("compression", "none"),
        timeout,
        certificate=str(Path(body["certificate"]).expanduser()) if "certificate" in body else None,
        insecure=body.get("insecure", False),
    )


def _parse_pairs(raw: str, origin: str) -> dict[str, str]:
    """``k=v,k2=v2`` with percent-encoding, as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES use."""
    pairs: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{origin}: {item.strip()!r} is not key=value")
        pairs[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(value.strip())
    return pairs


_WARNED: set[str] = set()


def _warn(message: str) -> None:
    """Once per load_settings: the same bad general variable is read for each signal."""
    if message not in _WARNED:
        _WARNED.add(message)
        print(f"devtel-agent: warning: {message}", file=sys.stderr, flush=True)


def _env_setting(env: Mapping[str, str], setting: str, signal: str, parse: Callable[[str], Any]) -> Any:
    """The per-signal variable, else the general one, parsed; an invalid value is warned about and
    treated as not set, as the specification asks (SDK environment variables: "SHOULD generate
    a warning and gracefully ignore the setting"). None when neither gives a valid value."""
    for name in (f"{E.OTLP_PREFIX}{signal}_{setting}", f"{E.OTLP_PREFIX}{setting}"):
        raw = env.get(name)
        if not raw:
            continue
        try:
            return parse(raw)
        except ValueError as exc:
            _warn(f"{name}={raw!r}: {exc}; ignored")
    return None


def _protocol(raw: str) -> str:
    if raw.strip() not in OTLP_PROTOCOLS:
        raise ValueError(f"not one of {', '.join(OTLP_PROTOCOLS)}")
    return raw.strip()


def _compression(raw: str) -> str:
    if raw.strip().lower() not in COMPRESSIONS:
        raise ValueError("not gzip or none")
    return raw.strip().lower()


def _timeout_ms(raw: str) -> float:
    value = float(raw)  # ValueError: not a number
    if not math.isfinite(value) or value <= 0:
        raise ValueError("not a positive number of milliseconds")
    return value / 1000.0


def _headers(raw: str) -> dict[str, str]:
    try:
        headers = _parse_pairs(raw, "headers")
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc
    problem = header_problem(headers)
    if problem:
        raise ValueError(problem)
    return headers


def _certificate(raw: str) -> str:
    if not Path(raw).expanduser().is_file():
        raise ValueError("not a readable file")
    return str(Path(raw).expanduser())


def _insecure(raw: str) -> bool:
    if raw.strip().lower() not in ("true", "false"):
        raise ValueError("not true or false")
    return raw.strip().lower() == "true"


def _env_sink(env: Mapping[str, str]) -> SinkConfig | None:
    """The OTEL_EXPORTER_OTLP_* variables define a sink once any endpoint is set.

    Endpoint, headers, compression and timeout are per signal (``…_LOGS_HEADERS`` applies to
    logs only, over HTTP and gRPC). The sink has one protocol: a different ``…_LOGS_PROTOCOL``
    is warned about and the metrics one (else the general one) is used.
    """
    names = [f"{E.OTLP_PREFIX}{s}_{E.OTLP_ENDPOINT}" for s in E.OTLP_SIGNALS] + [
        f"{E.OTLP_PREFIX}{E.OTLP_ENDPOINT}"
    ]
    if not any(env.get(n) for n in names):
        return None
    protocols = {
        s: _env_setting(env, E.OTLP_PROTOCOL, s, _protocol) or E.DEFAULT_PROTOCOL for s in E.OTLP_SIGNALS
    }
    protocol = protocols["METRICS"]
    if protocols["LOGS"] != protocol:
        _warn(f"{E.OTLP_PREFIX}LOGS_{E.OTLP_PROTOCOL}: one sink has one protocol; logs use {protocol}")
    default_base = E.DEFAULT_GRPC_ENDPOINT if protocol == "grpc" else E.DEFAULT_HTTP_ENDPOINT
    endpoints: dict[str, str] = {}
    per_signal: dict[str, SignalSettings] = {}
    for signal in E.OTLP_SIGNALS:
        specific = env.get(f"{E.OTLP_PREFIX}{signal}_{E.OTLP_ENDPOINT}")
        if specific:  # per-signal endpoints are used as given
            endpoints[signal.lower()] = specific
        else:
            base = env.get(f"{E.OTLP_PREFIX}{E.OTLP_ENDPOINT}") or default_base
            endpoints[signal.lower()] = _signal_urls(base, protocol)[signal.lower()]
        timeout = _env_setting(env, E.OTLP_TIMEOUT, signal, _timeout_ms)
        per_signal[signal.lower()] = SignalSettings(
            headers=_env_setting(env, E.OTLP_HEADERS, signal, _headers) or {},
            compression=_env_setting(env, E.OTLP_COMPRESSION, signal, _compression) or "none",
            timeout=timeout if timeout is not None else E.DEFAULT_TIMEOUT_SECONDS,
        )
    metrics = per_signal["metrics"]
    return SinkConfig(
        "otel-env",
        "otlp",
        protocol,
        endpoints,
        metrics.headers,
        metrics.compression,
        metrics.timeout,
        certificate=_env_setting(env, E.OTLP_CERTIFICATE, "METRICS", _certificate),
        insecure=bool(_env_setting(env, E.OTLP_INSECURE, "METRICS", _insecure)),
        signals=per_signal,
    )


def _resource_attributes(env: Mapping[str, str]) -> dict[str, str]:
    """OTEL_RESOURCE_ATTRIBUTES; a malformed value is discarded whole, with a warning."""
    raw = env.get(E.OTEL_RESOURCE_ATTRIBUTES, "")
    try:
        return _parse_pairs(raw, E.OTEL_RESOURCE_ATTRIBUTES)
    except ConfigError as exc:
        _warn(f"{exc}; {E.OTEL_RESOURCE_ATTRIBUTES} ignored")
        return {}


def _legacy_sink(path: Path) -> SinkConfig | None:
    """The deployed DevLake collector's config.json, if present, becomes a devlake sink."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("webhook_url"), str) or not data["webhook_url"]:
        raise ConfigError(f"{path}: key 'webhook_url': required, a URL")
    for key in ("api_key", "webhook_url_secondary"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ConfigError(f"{path}: key '{key}': expected a string")
    headers = {"Authorization": f"Bearer {data['api_key']}"} if data.get("api_key") else {}
    return SinkConfig(
        "devlake-legacy",
        "devlake",
        "json",
        {"report": data["webhook_url"]},
        headers,
        "none",
        E.DEFAULT_TIMEOUT_SECONDS,
        data.get("webhook_url_secondary") or None,
    )


def _merged(policy: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """User values over policy defaults, except identity settings and sinks the policy fixes."""
    merged: dict[str, Any] = {}
    for section in set(policy) | set(user):
        merged[section] = (
            {**user.get(section, {}), **policy.get(section, {})}
            if section in ("identity", "sinks")
            else {**policy.get(section, {}), **user.get(section, {})}
        )
    return merged


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate every source; raise ConfigError before anything is applied."""
    _WARNED.clear()
    home = E.path_from(env, E.DEVTEL_HOME, E.DEFAULT_HOME)
    config_path = E.path_from(env, E.DEVTEL_CONFIG, E.DEFAULT_CONFIG)
    policy_path = E.path_from(env, E.DEVTEL_POLICY, E.DEFAULT_POLICY)
    policy, user = _load_toml(policy_path), _load_toml(config_path)
    if policy:
        validate(policy, is_policy=True)
    if user:
        validate(user, is_policy=False)
    data = _merged(policy.data if policy else {}, user.data if user else {})
    ident, consent, agent, outbox = (data.get(k, {}) for k in ("identity", "consent", "agent", "outbox"))
    relay = data.get("relay", {})
    mode = ident.get("mode", "named")
    if mode == "pseudonymous" and not ident.get("salt"):
        origin = policy if policy and "identity" in policy.data else user
        raise origin.error("identity", "salt", "pseudonymous identities need the organisation's salt")
    sinks = [_sink_from_table(name, body) for name, body in data.get("sinks", {}).items()]
    for extra in (
        _env_sink(env),
        _legacy_sink(E.path_from(env, E.DEVTEL_LEGACY_CONFIG, E.DEFAULT_LEGACY_CONFIG)),
    ):
        if extra is not None and all(s.name != extra.name for s in sinks):
            sinks.append(extra)
    resource = _resource_attributes(env)
    if (
        consent.get("default")
        and consent.get("max")
        and LEVELS.index(consent["default"]) > LEVELS.index(consent["max"])
    ):
        raise policy.error("consent", "default", f"above consent.max ({consent['max']})")  # type: ignore[union-attr]
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    return Settings(
        home=home,
        config_path=config_path,
        policy_path=policy_path,
        managed=policy is not None,
        sinks=tuple(sinks),
        identity_mode=mode,
        salt=ident.get("salt"),
        developer_id=ident.get("developer_id"),
        allow_paths=ident.get("allow_paths", defaults["allow_paths"]),
        consent_default=consent.get("default", defaults["consent_default"]),
        consent_max=consent.get("max", defaults["consent_max"]),
        release_channel=agent.get("release_channel", defaults["release_channel"]),
        interval_seconds=float(agent.get("interval_seconds", defaults["interval_seconds"])),
        poll_seconds=float(agent.get("poll_seconds", defaults["poll_seconds"])),
        outbox_max_bytes=outbox.get("max_bytes", defaults["outbox_max_bytes"]),
        backoff_base=float(outbox.get("backoff_base_seconds", defaults["backoff_base"])),
        backoff_max=float(outbox.get("backoff_max_seconds", defaults["backoff_max"])),
        resource_attributes=resource,
        kill_switch=E.kill_switch(env),
        collectors=data.get("collectors", {}),
        shell=data.get("shell", {}),
        relay_enabled=relay.get("enabled", defaults["relay_enabled"]),
        relay_http_port=relay.get("http_port", defaults["relay_http_port"]),
        relay_grpc_port=relay.get("grpc_port", defaults["relay_grpc_port"]),
        extra_emails=_emails(data.get("devtel", {}).get("emails", []), policy, user),
        allow_names=tuple(ident.get("allow_names", defaults["allow_names"])),
        catch_up_days=agent.get("catch_up_days", defaults["catch_up_days"]),
    )


def _emails(emails: list[str], policy: _Source | None, user: _Source | None) -> tuple[str, ...]:
    """[devtel] emails, checked: each must at least look like an address."""
    for email in emails:
        if "@" not in email:
            origin = user if user and "emails" in user.data.get("devtel", {}) else policy
            raise origin.error("devtel", "emails", f"{email!r} is not an email address")  # type: ignore[union-attr]
    return tuple(e.strip().lower() for e in emails)
