"""Where a day's content comes from: the one seam between the agent core and the collectors.

The collectors build the day from this machine (git, files, tools, shell signals); the result
is kept in the local store, so a day can be shown and re-sent without collecting again. With
``[collectors] enabled = false`` the install scans nothing and sends the days already in its store.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from agent.collectors import CollectorError, CollectorSettings, collect_day
from agent.collectors.clock import LocalDay, local_zone
from agent.config import Settings
from agent.day import DayReport
from agent.errors import ConfigError
from agent.identity import Identity, keyed_hash
from agent.shell import summary as shell_summary
from agent.shell.classify import RulesError, rules_with
from agent.shell.files import marked_off
from agent.shell.ingest import ingest
from agent.shell.store import CommandStore, StoredCommand
from agent.store import DayStore

STATE_FILE = "activity.db"
log = logging.getLogger(__name__)


def collector_settings(settings: Settings, identity: Identity) -> CollectorSettings:
    """The [collectors] table, the developer's extra addresses, and a commit-id hash two installs share.

    The addresses git resolves in each repository (global, ``includeIf``, repo-local
    ``user.email``) are read by the collectors themselves, repository by repository.
    """
    table = settings.collectors
    emails = [*settings.extra_emails, *table.get("emails", [])]
    # Keyed by the organisation's salt, else by the developer id: the same commit seen on two of
    # one developer's machines hashes alike (so the receiver counts it once), and nobody without
    # the key can look the hash up in a repository.
    key = settings.salt or identity.developer_id
    options: dict[str, object] = {
        "author_emails": tuple(emails),
        "hash_commit_id": lambda commit_id: keyed_hash(key, "commit", commit_id),
        "allow_paths": settings.allow_paths,
        "state_path": settings.home / STATE_FILE,
    }
    if "roots" in table:
        options["roots"] = tuple(Path(r) for r in table["roots"])
    if "repositories" in table:
        options["extra_repositories"] = tuple(Path(r) for r in table["repositories"])
    for key_name, option in (
        ("depth", "depth"),
        ("gap_minutes", "gap_minutes"),
        ("max_files_per_repository", "max_files_per_repository"),
    ):
        if key_name in table:
            options[option] = table[key_name]
    if "tools" in table:
        from agent.collectors import DEFAULT_TOOL_PATTERNS

        options["tool_patterns"] = {**DEFAULT_TOOL_PATTERNS, **table["tools"]}
    try:
        return CollectorSettings(**options)  # type: ignore[arg-type]
    except CollectorError as exc:
        raise ConfigError(f"{settings.config_path}: [collectors] {exc}") from exc


def shell_commands(settings: Settings, day: LocalDay) -> list[StoredCommand]:
    """Drain the hooks' spool into the command store, then the day's commands. With recording
    off (``agent.shell.recording``) the spool is not read: what it held was recorded without
    consent."""
    if not settings.shell.get("enabled", True):
        return []
    if settings.kill_switch or marked_off(settings.home):
        return []
    try:
        rules = rules_with(settings.shell.get("rules", {}))
    except RulesError as exc:
        raise ConfigError(f"{settings.config_path}: key 'shell.rules': {exc}") from exc
    commands = CommandStore(settings.home)
    try:
        try:
            read = ingest(settings.home, commands, rules, ignore=settings.shell.get("ignore", ()))
        except OSError as exc:  # an unreadable spool costs this pass's new commands, not the day
            log.warning("shell spool: cannot read it: %s", exc)
        else:
            if read.malformed:
                log.warning("shell spool: skipped %d line(s) no devtel hook wrote", read.malformed)
        return commands.between(day.start, day.end)
    finally:
        commands.close()


def build_day(date: dt.date, settings: Settings, store: DayStore, identity: Identity) -> DayReport:
    """The freshest full-day view of ``date`` from this machine, kept in the local store."""
    if not settings.collectors.get("enabled", True):
        return store.load(date) or DayReport(date=date)
    collectors = collector_settings(settings, identity)
    shell = shell_commands(settings, LocalDay.of(date, collectors.timezone or local_zone()))
    # Each command is a moment of activity in its repository (or outside any).
    signals = [(c.ended_at, c.repository, max(0.0, c.duration_s)) for c in shell]
    day = collect_day(date, collectors, shell_signals=signals)
    day.commands = shell_summary.runs(shell)
    day.command_counts = shell_summary.counts(day.commands)
    store.save(day)
    return day
