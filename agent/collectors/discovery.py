"""Finding the developer's git working trees without walking the whole disk.

A bounded walk: at most ``depth`` levels under each root, never into hidden, cache,
virtual-environment or vendored directories, never through symlinks. It goes on below a
repository it found, because a home directory kept under git (dotfiles) still holds the
developer's other repositories.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from agent.collectors.errors import RepositoryUnreadableError, RootNotFoundError


def is_repository(path: Path) -> bool:
    # ".git" is a directory in a clone and a file in a linked worktree or submodule.
    return (path / ".git").exists()


def repository_of(path: Path) -> Path | None:
    """The working tree holding ``path`` (a repository or any directory inside one), if any."""
    for candidate in (path, *path.parents):
        if is_repository(candidate):
            return candidate
    return None


def discover(roots: Iterable[Path], depth: int, skip: frozenset[str]) -> list[Path]:
    """Repositories at most ``depth`` levels below each root (the root itself is level 0)."""
    found: dict[Path, None] = {}
    for root in roots:
        if not root.is_dir():
            raise RootNotFoundError(str(root))
        for repo in _walk(root.resolve(), depth, skip):
            found[repo] = None
    return list(found)


def _walk(root: Path, depth: int, skip: frozenset[str]) -> Iterable[Path]:
    pending = [(root, 0)]
    while pending:
        directory, level = pending.pop()
        if is_repository(directory):
            yield directory
        if level == depth:
            continue
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if _descend(entry, skip):
                        pending.append((Path(entry.path), level + 1))
        except OSError:
            continue  # unreadable directory: nothing of the developer's to find there


def _descend(entry: os.DirEntry[str], skip: frozenset[str]) -> bool:
    name = entry.name
    if name.startswith(".") or name in skip:
        return False
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def checked_repository(path: Path) -> Path:
    """A configured repository path, or a clear error saying why it is not one."""
    if not path.is_dir():
        raise RepositoryUnreadableError(str(path), "not a directory")
    if not is_repository(path):
        raise RepositoryUnreadableError(str(path), "no .git in it")
    return path.resolve()


def git_storage(tree: Path) -> Path:
    """The object and ref store a work tree uses; linked worktrees of one repository share it.

    ``.git`` is a directory in a clone. In a linked worktree it is a file pointing at the
    worktree's private directory, whose ``commondir`` names the shared store; a submodule's
    pointer has no ``commondir`` and is its own store.
    """
    marker = tree / ".git"
    if marker.is_dir():
        return marker.resolve()
    try:
        pointer = marker.read_text().strip().removeprefix("gitdir:").strip()
        private = (tree / pointer).resolve()
        common = private / "commondir"
        return (private / common.read_text().strip()).resolve() if common.is_file() else private
    except OSError:
        return marker.resolve()  # unreadable pointer: the tree stands alone (git will say why)
