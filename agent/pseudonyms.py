"""Pseudonymous names: repository and branch names leave the machine only as keyed hashes.

Names can carry a person's name (``~/alice-notes``, ``alice.smith/fix-login``), so under a
pseudonymous identity every repository name (in git activity, projects and command
statistics) and every branch name is replaced by an HMAC keyed by the organisation's salt,
unless the policy lists it in ``[identity] allow_names``. The same name hashes alike on every
machine of the organisation, so dashboards still group by it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from agent.day import DayReport
from agent.identity import keyed_hash

PREFIX = "h:"  # marks a hashed name, so nobody mistakes it for a real one
HASH_CHARS = 16  # 64 bits: no collision among one organisation's names in practice


def pseudonym(salt: str, kind: str, name: str, allowed: Collection[str]) -> str:
    """``name`` itself when allowed (or empty: "outside any repository"), else its keyed hash."""
    if not name or name in allowed:
        return name
    return PREFIX + keyed_hash(salt, kind, name)[:HASH_CHARS]


def pseudonymous_day(day: DayReport, salt: str, allowed: Collection[str]) -> DayReport:
    """The day with every repository and branch name hashed; figures and ids unchanged."""

    def repository(name: str) -> str:
        return pseudonym(salt, "repository", name, allowed)

    return dataclasses.replace(
        day,
        repositories=[
            dataclasses.replace(
                r,
                name=repository(r.name),
                branches_worked=[pseudonym(salt, "branch", b, allowed) for b in r.branches_worked],
            )
            for r in day.repositories
        ],
        projects=[dataclasses.replace(p, name=repository(p.name)) for p in day.projects],
        commands=[dataclasses.replace(c, repository=repository(c.repository)) for c in day.commands],
    )
