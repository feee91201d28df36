"""What a repository *is*, the same on every machine whatever the directory layout.

Its identity comes from the origin remote, normalized so the ssh and https forms of one
repository are equal (``git@github.com:Acme/API.git`` = ``https://github.com/acme/api``), else
from its root commit; never from the directories it sits in, which differ between laptops
(``~/proj`` on one, ``~/src/proj`` on another). Its display name is the origin's last part, or
the directory name when there is no origin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# scp-like syntax: [user@]host:path (no scheme, and the colon comes before any slash).
_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


@dataclass(frozen=True, slots=True)
class RepositoryIdentity:
    key: str  # "host/owner/name" or "root:<commit id>" or "path:<dir>"; hashed before it leaves
    parts: tuple[str, ...]  # display name candidates, most specific last: ("github.com", "acme", "api")


def normalize_origin(url: str) -> tuple[str, ...] | None:
    """``(host, *path parts)`` of a remote URL, lower-cased, without user, port or ``.git``.

    None for a local path (``/srv/git/x``, ``file://``, ``../x``): that names no shared place.
    """
    url = url.strip()
    match = _SCP.match(url) if "://" not in url else None
    if match:
        host, path = match["host"], match["path"]
    else:
        split = urlsplit(url)
        if split.scheme in ("", "file") or not split.hostname:
            return None
        host, path = split.hostname, split.path
    parts = [p for p in path.split("/") if p]
    if parts:
        parts[-1] = parts[-1].removesuffix(".git")
    parts = [p for p in parts if p]
    if not parts:
        return None
    return (host.lower(), *(p.lower() for p in parts))


def identity(directory: Path, origin: str | None, root: str | None) -> RepositoryIdentity:
    """Origin first, root commit second; the directory only for an empty repository."""
    normalized = normalize_origin(origin) if origin else None
    if normalized is not None:
        name = (origin or "").rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
        return RepositoryIdentity("/".join(normalized), (*normalized[:-1], name or normalized[-1]))
    # Without an origin the name is local anyway: parent directories may tell two apart.
    parts = tuple(p for p in directory.parts if p != directory.anchor)
    if root is not None:
        return RepositoryIdentity(f"root:{root}", parts)
    return RepositoryIdentity(f"path:{directory}", parts)


def display_names(identities: list[RepositoryIdentity]) -> dict[str, str]:
    """identity key -> a name: the last part, lengthened with the origin's owner (then host) only
    where two different repositories of the machine share it."""
    unique = {i.key: i for i in identities}
    depth = dict.fromkeys(unique, 1)
    while True:
        names = {key: "/".join(i.parts[-depth[key] :]) for key, i in unique.items()}
        clashes: dict[str, list[str]] = {}
        for key, name in names.items():
            clashes.setdefault(name.lower(), []).append(key)  # "Proj" and "proj" read as one
        grow = [
            k
            for group in clashes.values()
            if len(group) > 1
            for k in group
            if depth[k] < len(unique[k].parts)
        ]
        if not grow:
            # Names exhausted (an origin spelled like a local path): the key tells them apart.
            return {
                key: name
                if len(group := clashes[name.lower()]) == 1
                else f"{name}#{sorted(group).index(key) + 1}"
                for key, name in names.items()
            }
        for key in grow:
            depth[key] += 1
