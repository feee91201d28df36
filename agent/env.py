"""Every environment variable the agent reads, with its meaning and default, in one place.

The standard ``OTEL_*`` variables follow the OpenTelemetry specification; the ``DEVTEL_*``
ones are ours. Paths that tests must redirect (the managed policy, the legacy collector's
config, the service-manager directory) are variables too, so no test touches ``/etc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

# --- devtel paths -----------------------------------------------------------------------
DEVTEL_HOME: Final = "DEVTEL_HOME"
"""State directory (local store, outbox, state.json). Default ``~/.local/state/devtel``."""
DEVTEL_CONFIG: Final = "DEVTEL_CONFIG"
"""The user's TOML config. Default ``~/.config/devtel/agent.toml``."""
DEVTEL_POLICY: Final = "DEVTEL_POLICY"
"""The managed policy (what an MDM deploys). Default ``/etc/devtel/agent.toml``."""
DEVTEL_LEGACY_CONFIG: Final = "DEVTEL_LEGACY_CONFIG"
"""The old DevLake collector's config.json. Default ``/usr/local/etc/devlake-telemetry/config.json``."""
DEVTEL_SERVICE_DIR: Final = "DEVTEL_SERVICE_DIR"
"""Where install writes the unit/plist. Default: the systemd user or LaunchAgents directory."""

DEFAULT_HOME: Final = "~/.local/state/devtel"
DEFAULT_CONFIG: Final = "~/.config/devtel/agent.toml"
DEFAULT_POLICY: Final = "/etc/devtel/agent.toml"
DEFAULT_LEGACY_CONFIG: Final = "/usr/local/etc/devlake-telemetry/config.json"

# --- opt-out switches: any one of them stops every send ---------------------------------
DO_NOT_TRACK: Final = "DO_NOT_TRACK"  # "1" (consoledonottrack.com)
DEVTEL_DISABLE_TELEMETRY: Final = "DEVTEL_DISABLE_TELEMETRY"  # "true"
OTEL_SDK_DISABLED: Final = "OTEL_SDK_DISABLED"  # "true" (OpenTelemetry specification)
KILL_SWITCHES: Final = (DO_NOT_TRACK, DEVTEL_DISABLE_TELEMETRY, OTEL_SDK_DISABLED)
_TRUE: Final = frozenset({"1", "true", "yes", "on"})

# --- the standard OTLP exporter variables -----------------------------------------------
OTLP_PREFIX: Final = "OTEL_EXPORTER_OTLP_"
OTLP_SIGNALS: Final = ("METRICS", "LOGS")
OTLP_ENDPOINT: Final = "ENDPOINT"
OTLP_HEADERS: Final = "HEADERS"
OTLP_PROTOCOL: Final = "PROTOCOL"
OTLP_COMPRESSION: Final = "COMPRESSION"
OTLP_TIMEOUT: Final = "TIMEOUT"  # milliseconds, as the specification says
OTLP_CERTIFICATE: Final = "CERTIFICATE"  # a CA bundle (PEM) to trust
OTLP_INSECURE: Final = "INSECURE"  # gRPC endpoints without a scheme: plaintext when "true"
OTEL_RESOURCE_ATTRIBUTES: Final = "OTEL_RESOURCE_ATTRIBUTES"

DEFAULT_PROTOCOL: Final = "http/protobuf"
DEFAULT_HTTP_ENDPOINT: Final = "http://localhost:4318"
DEFAULT_GRPC_ENDPOINT: Final = "http://localhost:4317"
DEFAULT_TIMEOUT_SECONDS: Final = 10.0


def path_from(env: Mapping[str, str], name: str, default: str) -> Path:
    """The path a variable names, else the default, with ``~`` expanded."""
    return Path(env.get(name) or default).expanduser()


def kill_switch(env: Mapping[str, str]) -> str | None:
    """The name of the first opt-out variable that is set to a true value, if any."""
    for name in KILL_SWITCHES:
        if env.get(name, "").strip().lower() in _TRUE:
            return name
    return None


def otlp_var(env: Mapping[str, str], setting: str, signal: str) -> str | None:
    """A per-signal ``OTEL_EXPORTER_OTLP_<SIGNAL>_<SETTING>`` beats the general one."""
    specific = env.get(f"{OTLP_PREFIX}{signal}_{setting}")
    if specific:
        return specific
    return env.get(f"{OTLP_PREFIX}{setting}") or None
