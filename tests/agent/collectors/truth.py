"""The truth of a day, computed from ``git log`` over the whole history, not from the agent's code.

The rule (docs/collectors.md): a commit counts on the local day of its author date when the
developer authored and committed it, once per change (author, author time, subject), with
lines and files from ``--numstat`` (renames found, binary files as one file and no lines).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Truth:
    commits: int
    lines_added: int
    lines_deleted: int
    files_changed: int
    per_commit: dict[str, tuple[int, int, int]]  # commit id -> lines added, deleted, files

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self.per_commit)


def git_says(repo: Path, *args: str) -> str:
    """git run in ``repo`` with the test process's own environment (its global config)."""
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def addresses_in(repo: Path) -> set[str]:
    """What git itself resolves as user.email there (includeIf and local files applied)."""
    return {line.strip().lower() for line in git_says(repo, "config", "--get-all", "user.email").splitlines()}


def day_truth(repo: Path, date: dt.date, addresses: set[str], zone: dt.tzinfo = dt.UTC) -> Truth:
    log = git_says(repo, "log", "--branches", "-M", "--numstat", "--format=%x00%H%x1f%ae%x1f%ce%x1f%at%x1f%s")
    changes: dict[tuple[str, str, str], tuple[str, int, int, int]] = {}
    for record in log.split("\x00")[1:]:
        header, *stats = record.strip("\n").split("\n")
        sha, author, committer, written, subject = header.split("\x1f")
        day = dt.datetime.fromtimestamp(int(written), zone).date()
        if day != date or author.lower() not in addresses or committer.lower() not in addresses:
            continue
        added = deleted = files = 0
        for line in filter(None, stats):
            plus, minus, _ = line.split("\t", 2)
            files += 1
            added += 0 if plus == "-" else int(plus)
            deleted += 0 if minus == "-" else int(minus)
        key = (author.lower(), written, subject)
        if key not in changes or sha < changes[key][0]:
            changes[key] = (sha, added, deleted, files)
    kept = changes.values()
    return Truth(
        len(kept),
        sum(c[1] for c in kept),
        sum(c[2] for c in kept),
        sum(c[3] for c in kept),
        {c[0]: c[1:] for c in kept},
    )
