"""One repository's commits of one local day, read with GitPython from ``git log``.

The walk is bounded by commit date (``--max-age``/``--min-age`` over the local branches),
so git stops once it passes the start of the day: the cost follows the day's commits, not
the length of history. A day is the committer date's day, because that is when the commit
came to exist on this machine (a rebased copy made today is today's work, as a new commit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import git

from agent.collectors.errors import RepositoryUnreadableError

_RECORD = "\x1e"
_FIELD = "\t"
_LOG_FORMAT = "--format=%x1e%H%x09%ae%x09%ct"
# Flags that pin the output against the user's git configuration (colour, signatures,
# external diff drivers, rename settings) so the counts mean the same everywhere.
_PINNED = ("--no-color", "--no-show-signature", "--no-ext-diff", "--no-textconv", "--find-renames")


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit by the developer: a merge has no lines of its own (its sides are counted)."""

    id: str
    committed_at: int
    lines_added: int
    lines_deleted: int
    files_changed: int


@dataclass(frozen=True, slots=True)
class RepositoryDay:
    commits: tuple[Commit, ...]
    branches: tuple[str, ...]


EMPTY_DAY = RepositoryDay(commits=(), branches=())


def open_repository(path: Path) -> git.Repo:
    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise RepositoryUnreadableError(str(path), type(exc).__name__) from exc


@dataclass(frozen=True, slots=True)
class BranchState:
    """The local branches as one ``for-each-ref`` sees them; read on every run, it is cheap."""

    tips: dict[str, int]  # branch name -> committer time of its tip
    fingerprint: str  # changes whenever any local branch moves: the already-seen key


def branch_state(repo: git.Repo) -> BranchState:
    output = _run(
        repo, "for-each-ref", "--format=%(objectname) %(committerdate:unix) %(refname)", "refs/heads"
    )
    tips: dict[str, int] = {}
    for line in output.splitlines():
        _object, stamp, ref = line.split(" ", 2)
        # Not "refname:short": that turns "x" into "heads/x" when a tag is also named "x".
        tips[ref.removeprefix("refs/heads/")] = int(stamp or 0)
    return BranchState(tips=tips, fingerprint=hashlib.sha256(output.encode()).hexdigest())


def day_activity(
    repo: git.Repo, state: BranchState, start: int, end: int, emails: Iterable[str]
) -> RepositoryDay:
    """The developer's commits with committer time in [start, end) on any local branch, once each."""
    wanted = {e.lower() for e in emails}
    # A branch whose tip is older than the day cannot hold a commit of the day.
    active = sorted(name for name, stamp in state.tips.items() if stamp >= start)
    if not wanted or not active:
        return EMPTY_DAY
    bounds = (f"--max-age={start}", f"--min-age={end - 1}")
    authors = [f"--author=<{email}>" for email in sorted(wanted)]
    output = _run(
        repo,
        "log",
        *_PINNED,
        "--fixed-strings",
        "--regexp-ignore-case",
        *authors,
        *bounds,
        _LOG_FORMAT,
        "--numstat",
        "--branches",
    )
    commits = tuple(c for c, email in _parse_log(output) if email in wanted)
    if not commits:
        return EMPTY_DAY
    ids = {c.id for c in commits}
    branches = tuple(
        name
        for name in active
        if ids.intersection(_run(repo, "rev-list", *bounds, f"refs/heads/{name}", "--").split())
    )
    return RepositoryDay(commits=commits, branches=branches)


def _parse_log(output: str) -> Iterable[tuple[Commit, str]]:
    for record in output.split(_RECORD)[1:]:
        header, *stats = record.strip("\n").split("\n")
        commit_id, email, stamp = header.split(_FIELD)
        added = deleted = files = 0
        for line in stats:
            if not line:
                continue
            plus, minus, _path = line.split(_FIELD, 2)
            files += 1
            # A binary file shows "-" for both counts: it changed, but has no lines.
            added += int(plus) if plus != "-" else 0
            deleted += int(minus) if minus != "-" else 0
        yield Commit(commit_id, int(stamp), added, deleted, files), email.lower()


def _run(repo: git.Repo, command: str, *args: str) -> str:
    try:
        # GitPython's dynamic call: honours its configured git executable.
        return getattr(repo.git, command.replace("-", "_"))(*args)
    except git.GitCommandError as exc:
        raise RepositoryUnreadableError(str(repo.working_tree_dir), f"git {command} failed") from exc
