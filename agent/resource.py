"""What describes this install: the OTLP resources and the fixed base-telemetry fields.

Built with ``Resource(...)`` rather than ``Resource.create()`` so nothing the SDK would detect
on its own (process command line, environment) slips into what leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import locale
import os
import platform
import time
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource

from agent import contract as C
from agent.config import Settings
from agent.identity import Identity

# Our own attributes win over OTEL_RESOURCE_ATTRIBUTES: identity must follow the policy.
_PROTECTED = (
    C.RES_SERVICE_NAME,
    C.RES_INSTANCE_ID,
    C.RES_DEVELOPER_ID,
    C.RES_EMAIL,
    C.RES_FULL_NAME,
    C.RES_HOST_NAME,
    C.RES_IDENTITY_MODE,
    "host.id",
)


def app_version() -> str:
    try:
        return importlib.metadata.version("devtel")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def base_resource(install_id: str) -> Resource:
    """The base layer carries the install id and version only: no person, no host."""
    return Resource(
        {
            C.RES_SERVICE_NAME: C.SERVICE_NAME,
            C.RES_SERVICE_VERSION: app_version(),
            C.RES_INSTANCE_ID: install_id,
        }
    )


def detailed_resource(identity: Identity, install_id: str, settings: Settings) -> Resource:
    attrs: dict[str, Any] = {k: v for k, v in settings.resource_attributes.items() if k not in _PROTECTED}
    attrs.update(
        {
            C.RES_SERVICE_NAME: C.SERVICE_NAME,
            C.RES_SERVICE_VERSION: app_version(),
            C.RES_INSTANCE_ID: install_id,
            C.RES_HOST_ARCH: platform.machine(),
            C.RES_OS_TYPE: platform.system().lower(),
            C.RES_OS_VERSION: platform.release(),
            C.RES_SCHEMA_VERSION: C.SCHEMA_VERSION,
        }
    )
    attrs.update(identity.resource_attributes())
    return Resource(attrs)


def _timezone() -> str:
    if os.environ.get("TZ"):
        return os.environ["TZ"].lstrip(":")
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        target = ""
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else time.tzname[0]


def base_fields(
    settings: Settings, state: dict[str, Any], install_id: str, *, heartbeat: bool
) -> dict[str, str]:
    """Seed 004's fixed schema, every field a string."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return {
        "install_id": install_id,
        "app_version": app_version(),
        "platform": platform.system().lower(),
        "os_version": platform.release(),
        "architecture": platform.machine(),
        "locale": locale.getlocale()[0] or os.environ.get("LANG", "C").split(".")[0] or "C",
        "timezone": _timezone(),
        "first_seen_at": state.get("first_seen_at", now),
        "last_seen_at": now,
        "heartbeat_at": now if heartbeat else state.get("last_heartbeat_at", ""),
        "release_channel": settings.release_channel,
        "deployment_type": "managed" if settings.managed else "unmanaged",
    }
