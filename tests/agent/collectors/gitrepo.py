"""Real git repositories for the collector tests, made with the real ``git`` binary."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

DEV = "dev@example.com"
OTHER = "other@example.com"


def git_env(when: dt.datetime | None = None, email: str = DEV) -> dict[str, str]:
    """An environment that ignores the machine's git configuration and pins author and dates."""
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    env.update(GIT_AUTHOR_NAME=email.split("@")[0], GIT_AUTHOR_EMAIL=email)
    env.update(GIT_COMMITTER_NAME=email.split("@")[0], GIT_COMMITTER_EMAIL=email)
    if when is not None:
        stamp = f"@{int(when.timestamp())} +0000"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    return env


def git(
    repo: Path, *args: str, when: dt.datetime | None = None, email: str = DEV, stdin: bytes | None = None
) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        env=git_env(when, email),
        input=stdin,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode().strip()


def init(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    return path


def commit(
    repo: Path, when: dt.datetime, files: dict[str, str | bytes], *, email: str = DEV, message: str = "change"
) -> str:
    """Write ``files`` (text or bytes), commit them at ``when`` as ``email``; returns the commit id."""
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(repo, "add", "-A", when=when, email=email)
    git(repo, "commit", "-q", "-m", message, when=when, email=email)
    return git(repo, "rev-parse", "HEAD")


def history_commit_time(index: int, count: int, last: dt.datetime) -> int:
    """Commit ``index`` of a generated history: one every ten minutes, the last at ``last``."""
    return int(last.timestamp()) - (count - 1 - index) * 600


def history_author(index: int) -> str:
    return DEV if index % 3 == 0 else OTHER


def history_lines(index: int) -> int:
    return index % 5 + 1


def build_history(path: Path, count: int, last: dt.datetime, *, label: str = "") -> Path:
    """A repository of ``count`` commits on main made with ``git fast-import`` (fast even at 100k).

    Commit i adds one new file of ``history_lines(i)`` lines as ``history_author(i)``, so the
    exact counts of any day follow from these three functions. ``label`` goes into every
    message, so two repositories built alike still have different commit ids.
    """
    init(path)
    chunks: list[bytes] = []
    for index in range(count):
        email = history_author(index)
        stamp = history_commit_time(index, count, last)
        message = f"{label}commit {index}\n".encode()
        body = "".join(f"line {n}\n" for n in range(history_lines(index))).encode()
        who = f"{email.split('@')[0]} <{email}> {stamp} +0000\n".encode()
        chunks += [
            b"commit refs/heads/main\n",
            b"author " + who,
            b"committer " + who,
            b"data %d\n" % len(message),
            message,
            b"M 100644 inline d%d/e%d/f%d.txt\n" % (index // 10_000, index // 100 % 100, index),
            b"data %d\n" % len(body),
            body,
            b"\n",
        ]
    git(path, "fast-import", "--quiet", stdin=b"".join(chunks))
    return path
