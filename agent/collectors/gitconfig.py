"""Each repository's git configuration (addresses, origin) and root commit, read once and kept
until a file it came from changes.

Asking git inside every repository on every run is the only way to get ``includeIf`` right, but
it costs a process per repository; on a laptop with 50 repositories that would triple the cost
of an hourly run in which nothing moved. So the answer is stored with a signature: the size and
modification time of the repository's config, the global and system config files, every file a
value came from (an ``includeIf`` target), the git configuration variables of the environment
and the work tree's path (what ``gitdir:`` conditions match). Any change asks git again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agent.collectors import discovery, git
from agent.collectors.store import ActivityStore


@dataclass(frozen=True, slots=True)
class ResolvedConfig:
    config: git.RepositoryConfig
    root: str | None  # the root commit, looked up only when there is no origin


def _global_files() -> list[Path]:
    home = Path.home()
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return [
        Path(os.environ.get("GIT_CONFIG_GLOBAL") or home / ".gitconfig"),
        Path(xdg) / "git" / "config",
        Path(os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"),
    ]


def signature(tree: Path, files: Iterable[str]) -> str:
    paths = sorted({str(discovery.git_storage(tree) / "config"), *map(str, _global_files()), *files})
    parts = [str(tree)]
    for path in paths:
        try:
            info = os.stat(path)
            parts.append(f"{path}:{info.st_mtime_ns}:{info.st_size}")
        except OSError:
            parts.append(f"{path}:-")
    parts += sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("GIT_CONFIG"))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def resolve(tree: Path, store: ActivityStore) -> ResolvedConfig:
    """The stored answer while its files are unchanged, else git's (raises RepositoryUnreadableError)."""
    cached = store.repository_config(str(tree))
    if cached is not None:
        stamp, data = cached
        if stamp == signature(tree, data["files"]):
            config = git.RepositoryConfig(tuple(data["emails"]), data["origin"], tuple(data["files"]))
            return ResolvedConfig(config, data["root"])
    handle = git.open_repository(tree)
    config = git.repository_config(handle)
    root = None if config.origin else git.root_commit(handle)
    data = {"emails": list(config.emails), "origin": config.origin, "files": list(config.files), "root": root}
    store.save_repository_config(str(tree), signature(tree, config.files), json.dumps(data))
    return ResolvedConfig(config, root)
