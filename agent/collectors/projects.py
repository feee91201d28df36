"""Names for directories that never merge two different ones, and the day's project list.

The old collector merged repositories by directory name, so ``~/work/api`` and
``~/oss/api`` became one. ``unique_names`` (used for the shell's working trees) lengthens a
directory name with parent directories only as far as needed to tell them apart; the git
collectors name repositories by origin instead (``origin.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

from agent.day import ProjectActivity


def unique_names(repositories: Iterable[Path]) -> dict[Path, str]:
    paths = sorted(set(repositories))
    depth = dict.fromkeys(paths, 1)
    while True:
        names = {p: "/".join(p.parts[-depth[p] :]) for p in paths}
        clashes: dict[str, list[Path]] = {}
        for path, name in names.items():
            clashes.setdefault(name, []).append(path)
        grow = [p for group in clashes.values() if len(group) > 1 for p in group if depth[p] < len(p.parts)]
        if not grow:
            return names
        for path in grow:
            depth[path] += 1


def projects(
    last_activity: Mapping[str, float],
    names: Mapping[str, str],
    paths: Mapping[str, Path],
    *,
    allow_paths: bool,
) -> list[ProjectActivity]:
    """One entry per repository (identity key) with activity; a path only where the policy
    allows paths."""
    return [
        ProjectActivity(
            name=names[key],
            last_activity=dt.datetime.fromtimestamp(stamp, dt.UTC),
            path=str(paths[key]) if allow_paths and key in paths else None,
        )
        for key, stamp in sorted(last_activity.items(), key=lambda item: names[item[0]])
    ]
