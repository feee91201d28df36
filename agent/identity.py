"""Who the data is about: named (the system user or a configured developer id, git email and
name, hostname) or pseudonymous (HMAC-SHA256 keyed by the organisation's salt; no email, no name).

A plain hash of a user name is reversible by dictionary; a keyed hash is not without the salt.
The raw machine id is never read, let alone sent.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import socket
import subprocess
from dataclasses import dataclass

from agent import contract as C
from agent.config import Settings


@dataclass(frozen=True)
class Identity:
    mode: str  # "named" | "pseudonymous"
    developer_id: str
    hostname: str
    email: str | None = None
    name: str | None = None

    def resource_attributes(self) -> dict[str, str]:
        attrs = {
            C.RES_DEVELOPER_ID: self.developer_id,
            C.RES_HOST_NAME: self.hostname,
            C.RES_IDENTITY_MODE: self.mode,
        }
        if self.email:
            attrs[C.RES_EMAIL] = self.email
        if self.name:
            attrs[C.RES_FULL_NAME] = self.name
        return attrs


def keyed_hash(salt: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value``, domain-separated by ``purpose`` so equal inputs of different kinds differ."""
    return hmac.new(salt.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def _git_config(key: str) -> str | None:
    """The user's global git setting, or None when git or the setting is absent (never blocks long)."""
    try:
        done = subprocess.run(
            ["git", "config", "--global", "--get", key],
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def git_email() -> str | None:
    """The developer's git email, used locally to find their commits (sent only when named)."""
    return _git_config("user.email")


def resolve(settings: Settings) -> Identity:
    """The identity the policy asks for, from the system user, git config and hostname."""
    email, name = git_email(), _git_config("user.name")
    developer = settings.developer_id or getpass.getuser()  # the system user, as docs/otlp-mapping.md says
    host = socket.gethostname()
    if settings.identity_mode == "pseudonymous" and settings.salt:
        return Identity(
            "pseudonymous",
            keyed_hash(settings.salt, "developer", developer),
            keyed_hash(settings.salt, "host", host),
        )
    return Identity("named", developer, host, email, name)
