"""Names for repositories that never merge two different ones, and the day's project list.

The old collector merged repositories by directory name, so ``~/work/api`` and
``~/oss/api`` became one. Here a name is the directory name, lengthened with parent
directories only as far as needed to tell same-named repositories apart.
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
    last_activity: Mapping[Path, float], names: Mapping[Path, str], *, allow_paths: bool
) -> list[ProjectActivity]:
    """One entry per repository with activity; the path only when the policy allows paths."""
    return [
        ProjectActivity(
            name=names[repo],
            last_activity=dt.datetime.fromtimestamp(stamp, dt.UTC),
            path=str(repo) if allow_paths else None,
        )
        for repo, stamp in sorted(last_activity.items())
    ]
