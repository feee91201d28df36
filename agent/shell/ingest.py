"""From spool records to stored commands: drop the ignored ones, classify the rest, map the
directory to its repository, and let the command line and the directory go."""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Final

from agent.collectors.discovery import repository_of
from agent.shell.classify import classify
from agent.shell.spool import Identity, PassResult, SpoolRecord, drain
from agent.shell.store import CommandStore, StoredCommand

# A shell reports a command killed by signal N as 128 + N. These mean the developer (or the
# terminal) stopped it, not that it failed: Ctrl-C, Ctrl-\, Ctrl-Z, a closed terminal, kill.
_INTERRUPTED: Final = frozenset(
    128 + s for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGHUP, signal.SIGTERM)
)


def outcome(status: int) -> str:
    if status == 0:
        return "success"
    return "interrupted" if status in _INTERRUPTED else "failure"


class _Ledger:
    """The spool reader's view of the store: records in, classified commands saved."""

    def __init__(self, store: CommandStore, rules: Mapping[str, str], ignore: Sequence[str]) -> None:
        self.store, self.rules, self.ignore = store, rules, tuple(ignore)
        self.offset, self.keep_offsets = store.offset, store.keep_offsets
        self._repositories: dict[str, str | None] = {}

    def commit(self, records: list[SpoolRecord], identity: Identity, offset: int) -> None:
        kept = [r for r in records if not self._ignored(r.command)]
        self.store.save([self._command(r) for r in kept], identity, offset)

    def _ignored(self, command: str) -> bool:
        """``[shell] ignore``: shell-style patterns on the whole line (``pass *``, ``op *``)."""
        line = command.strip()
        return any(fnmatchcase(line, pattern) for pattern in self.ignore)

    def _command(self, record: SpoolRecord) -> StoredCommand:
        kind = classify(record.command, self.rules)
        return StoredCommand(
            ended_at=record.end,
            duration_s=record.duration,
            exit_code=record.status,
            outcome=outcome(record.status),
            category=kind.category,
            tool=kind.tool,
            repository=self._repository(record.directory),
            shell_pid=record.shell_pid,
        )

    def _repository(self, directory: str) -> str | None:
        if directory not in self._repositories:
            try:
                tree = repository_of(Path(directory).resolve()) if directory.startswith("/") else None
            except (OSError, ValueError, RuntimeError):  # unreadable, a NUL byte, a symlink loop
                tree = None
            self._repositories[directory] = str(tree) if tree else None
        return self._repositories[directory]


def ingest(
    home: Path,
    store: CommandStore,
    rules: Mapping[str, str],
    *,
    grace: float | None = None,
    ignore: Sequence[str] = (),
) -> PassResult:
    """Read what the hooks wrote since the last pass into the store (``grace``: see ``drain``);
    lines matching an ``ignore`` pattern are passed over, never stored."""
    return drain(home, _Ledger(store, rules, ignore), grace=grace)
