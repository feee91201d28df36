"""Consent levels and who decides them.

Precedence: an opt-out variable (DO_NOT_TRACK=1, DEVTEL_DISABLE_TELEMETRY=true,
OTEL_SDK_DISABLED=true) > the user's choice > the managed policy's default > ``base``; the
policy's ``consent.max`` caps the result, and the user can always go lower. Opting out purges
unsent data above the new level at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from agent.config import LEVELS, Settings
from agent.errors import ConsentError
from agent.outbox import Outbox
from agent.state import State

OFF, BASE, DETAILED = LEVELS


def rank(level: str) -> int:
    return LEVELS.index(level)


@dataclass(frozen=True)
class Consent:
    level: str
    source: str  # "env:<VAR>" | "user" | "policy" | "default"

    def allows(self, level: str) -> bool:
        """May data of consent class ``level`` ("base" or "detailed") leave now?"""
        return self.level != OFF and rank(level) <= rank(self.level)


def effective(settings: Settings, state: dict[str, Any], *, honour_env: bool = True) -> Consent:
    if honour_env and settings.kill_switch:
        return Consent(OFF, f"env:{settings.kill_switch}")
    chosen = state.get("consent", {}).get("level")
    if chosen in LEVELS:
        level, source = chosen, "user"
    elif settings.managed and settings.consent_default != BASE:
        level, source = settings.consent_default, "policy"
    else:
        level, source = BASE, "default"
    if rank(level) > rank(settings.consent_max):
        return Consent(settings.consent_max, "policy")
    return Consent(level, source)


@dataclass(frozen=True)
class Change:
    before: Consent
    after: Consent
    purged: int

    @property
    def granted_detailed(self) -> bool:
        return self.after.level == DETAILED and self.before.level != DETAILED


def set_level(settings: Settings, state: State, outbox: Outbox, wanted: str) -> Change:
    """Record the user's choice (merged into state.json) and purge what may no longer leave."""
    if wanted not in LEVELS:
        raise ConsentError(f"unknown consent level {wanted!r}; one of {', '.join(LEVELS)}")
    if rank(wanted) > rank(settings.consent_max):
        raise ConsentError(
            f"the managed policy {settings.policy_path} caps consent at {settings.consent_max!r}"
        )
    before = effective(settings, state.read())
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    data = state.update(consent={"level": wanted, "set_at": stamp})
    after = effective(settings, data)
    # Purge by the user's own level, not the env switch: DO_NOT_TRACK pauses sending, it does not delete.
    chosen = effective(settings, data, honour_env=False)
    purged = outbox.purge_above(chosen.level)
    return Change(before, after, purged)
