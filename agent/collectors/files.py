"""File modification times inside a working tree, as activity signals.

Only ``stat`` is called: no file is opened. The walk skips ``.git``, nested repositories
and the same heavy directories discovery skips, and stops after ``max_files`` entries, so a huge tree costs a
bounded amount per run. Recently modified files are then filtered through
``git check-ignore`` so build output and other ignored files are not activity.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import git


def modification_times(
    tree: Path, since: float, until: float, *, skip: frozenset[str], max_files: int
) -> list[float]:
    """mtimes in [since, until) of files in ``tree`` that git does not ignore."""
    recent = dict(_recent_files(tree, since, until, skip, max_files))
    if not recent:
        return []
    ignored = _ignored(tree, list(recent))
    return [mtime for path, mtime in recent.items() if path not in ignored]


def _recent_files(
    tree: Path, since: float, until: float, skip: frozenset[str], max_files: int
) -> Iterable[tuple[str, float]]:
    budget = max_files
    pending = [str(tree)]
    while pending and budget > 0:
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    budget -= 1
                    if budget < 0:
                        return
                    stamp = _mtime_if_file(entry, pending, skip)
                    if stamp is not None and since <= stamp < until:
                        yield os.path.relpath(entry.path, tree), stamp
        except OSError:
            continue  # vanished or unreadable while walking: not activity we can see


def _mtime_if_file(entry: os.DirEntry[str], pending: list[str], skip: frozenset[str]) -> float | None:
    try:
        if entry.is_dir(follow_symlinks=False):
            # A nested repository is scanned as itself, not as part of this one.
            nested = os.path.lexists(os.path.join(entry.path, ".git"))
            if entry.name != ".git" and entry.name not in skip and not nested:
                pending.append(entry.path)
            return None
        if entry.is_file(follow_symlinks=False):
            return entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        pass
    return None


def _ignored(tree: Path, paths: list[str]) -> set[str]:
    # One process for all candidates; NUL-separated both ways, so any file name is safe.
    # Exit status 1 means "none ignored": only the output matters.
    result = subprocess.run(
        [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", "-C", str(tree), "check-ignore", "-z", "--stdin"],
        input=b"\0".join(os.fsencode(p) for p in paths),
        capture_output=True,
        check=False,
    )
    return {os.fsdecode(p) for p in result.stdout.split(b"\0") if p}
