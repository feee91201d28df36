"""One repository's commits of one local day, read from ``git`` run inside that repository.

Whose commits: the addresses git itself resolves *in this repository* (``includeIf``, a
repo-local ``user.email``) plus the configured extra addresses; a commit counts only when the
developer both authored and committed it, so a hosting service's squash or rebase merge, a
maintainer applying a patch and a cherry-pick by someone else add nothing.

Which day: the author date's, the day the change was written. Amending or rebasing one's own
commits keeps the author date, so the new copy counts on the original day, and copies of one
change (same author, author time and subject) count once.

Cost: the walk starts at the local branches and is bounded by committer date
(``--max-age``), so git stops once it passes the start of the day. A commit dated before
its parents (clock skew, imported history) would stop that walk early; the walk therefore
looks a bounded number of commits past each place it stopped and goes on from any commit
of the day it finds there (``SKEW_LOOKAHEAD``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import git

from agent.collectors.errors import RepositoryUnreadableError

_SEP = "\x1f"
_RECORD = "\x1e"
# id, parents, author email, committer email, author time, committer time, subject
_WALK_FORMAT = "--format=%H%x1f%P%x1f%ae%x1f%ce%x1f%at%x1f%ct%x1f%s"
_STAT_FORMAT = "--format=%x1e%H"
# Flags that pin the output against the user's git configuration (colour, signatures,
# external diff drivers, rename settings) so the counts mean the same everywhere.
_PINNED = ("--no-color", "--no-show-signature", "--no-ext-diff", "--no-textconv", "--find-renames")
# How far past each stopping point the walk looks for commits of the day hidden behind
# older-dated ones, how many stopping points it looks past, and how many times it goes on.
SKEW_LOOKAHEAD = 256
SKEW_STARTS = 16
SKEW_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit by the developer: a merge has no lines of its own (its sides are counted)."""

    id: str
    written_at: int  # author time: the day a change counts on
    lines_added: int
    lines_deleted: int
    files_changed: int
    email: str  # the author address it was written with (local only)


@dataclass(frozen=True, slots=True)
class RepositoryDay:
    commits: tuple[Commit, ...]
    branches: tuple[str, ...]
    # Author addresses of the day's commits when none of them is the developer's (local only).
    unmatched: tuple[str, ...] = ()


EMPTY_DAY = RepositoryDay(commits=(), branches=())


@dataclass(frozen=True, slots=True)
class RepositoryConfig:
    """What git resolves in this repository: its ``user.email`` values and its origin, and the
    files they came from (an ``includeIf`` target among them)."""

    emails: tuple[str, ...]
    origin: str | None
    files: tuple[str, ...] = ()


def open_repository(path: Path) -> git.Repo:
    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise RepositoryUnreadableError(str(path), type(exc).__name__) from exc


def repository_config(repo: git.Repo) -> RepositoryConfig:
    """One ``git config`` inside the repository, so git applies ``includeIf`` and local files."""
    try:
        output = repo.git.config("--show-origin", "--get-regexp", r"^(user\.email|remote\.origin\.url)$")
    except git.GitCommandError as exc:
        if exc.status != 1:  # 1 means "no such key": a repository with no email and no origin
            raise RepositoryUnreadableError(str(repo.working_tree_dir), "git config failed") from exc
        output = ""
    emails: list[str] = []
    files: list[str] = []
    origin = None
    for line in output.splitlines():
        source, _, entry = line.partition("\t")
        key, _, value = entry.partition(" ")
        if source.startswith("file:"):
            files.append(str(Path(str(repo.working_tree_dir), source.removeprefix("file:")).resolve()))
        if key == "user.email" and value.strip():
            emails.append(value.strip().lower())
        elif key == "remote.origin.url" and value.strip():
            origin = value.strip()
    return RepositoryConfig(tuple(dict.fromkeys(emails)), origin, tuple(dict.fromkeys(files)))


def root_commit(repo: git.Repo) -> str | None:
    """The oldest root commit of HEAD (the smallest id on a tie): a repository's identity
    when it has no origin."""
    try:
        output = _run(repo, "rev-list", "--max-parents=0", "--format=%ct %H", "--no-commit-header", "HEAD")
    except RepositoryUnreadableError:
        return None  # an empty repository (no HEAD yet) has no identity beyond its directory
    roots = sorted(
        (int(stamp), sha) for stamp, sha in (line.split(" ") for line in output.splitlines() if line)
    )
    return roots[0][1] if roots else None


@dataclass(frozen=True, slots=True)
class BranchState:
    """The local branches as one ``for-each-ref`` sees them; read on every run, it is cheap."""

    tips: dict[str, str]  # branch name -> tip commit id
    fingerprint: str  # changes whenever any local branch moves: the already-seen key


def branch_state(repo: git.Repo) -> BranchState:
    output = _run(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads")
    tips: dict[str, str] = {}
    for line in output.splitlines():
        sha, ref = line.split(" ", 1)
        # Not "refname:short": that turns "x" into "heads/x" when a tag is also named "x".
        tips[ref.removeprefix("refs/heads/")] = sha
    return BranchState(tips=tips, fingerprint=hashlib.sha256(output.encode()).hexdigest())


@dataclass(frozen=True, slots=True)
class _Node:
    parents: tuple[str, ...]
    author: str
    committer: str
    written_at: int
    committed_at: int
    subject: str


def day_activity(
    repo: git.Repo, state: BranchState, start: int, end: int, emails: Iterable[str]
) -> RepositoryDay:
    """The developer's commits written in [start, end) on any local branch, once each."""
    wanted = {e.lower() for e in emails}
    if not state.tips:
        return EMPTY_DAY
    graph = _walk(repo, list(state.tips.values()), start)
    of_day = {sha: n for sha, n in graph.items() if start <= n.written_at < end}
    mine = {sha: n for sha, n in of_day.items() if n.author in wanted and n.committer in wanted}
    if not mine:
        if of_day and not any(n.author in wanted or n.committer in wanted for n in of_day.values()):
            return RepositoryDay((), (), tuple(sorted({n.author for n in of_day.values()})))
        return EMPTY_DAY
    # Copies of one change (amended, rebased, cherry-picked by its author) count once.
    changes: dict[tuple[str, int, str], str] = {}
    for sha in sorted(mine):
        node = mine[sha]
        changes.setdefault((node.author, node.written_at, node.subject), sha)
    kept = sorted(changes.values(), key=lambda sha: (mine[sha].written_at, sha))
    stats = _numstat(repo, kept)
    commits = tuple(Commit(sha, mine[sha].written_at, *stats[sha], mine[sha].author) for sha in kept)
    branches = tuple(name for name, tip in sorted(state.tips.items()) if _reaches(graph, tip, set(kept)))
    return RepositoryDay(commits=commits, branches=branches)


def _walk(repo: git.Repo, tips: list[str], start: int) -> dict[str, _Node]:
    """Every commit reachable from ``tips`` committed since ``start``, skew included.

    Also holds the commits looked at past the stopping points, so branch membership can be
    followed through them.
    """
    graph: dict[str, _Node] = {}
    walked: set[str] = set()
    pending = tips
    for _round in range(SKEW_ROUNDS):
        visited = _parse_walk(_run(repo, "log", *_PINNED, f"--max-age={start}", _WALK_FORMAT, *pending, "--"))
        graph.update(visited)
        walked.update(visited)
        # Where the walk stopped: parents it did not take first, then tips older than the day.
        parents = (p for n in visited.values() for p in n.parents)
        stops = [sha for sha in dict.fromkeys([*parents, *pending]) if sha not in walked]
        hidden: list[str] = []
        for stop in stops[:SKEW_STARTS]:
            ahead = _parse_walk(_run(repo, "log", *_PINNED, f"-n{SKEW_LOOKAHEAD}", _WALK_FORMAT, stop, "--"))
            for sha, node in ahead.items():
                graph.setdefault(sha, node)
            hidden += [sha for sha, node in ahead.items() if node.committed_at >= start and sha not in walked]
        pending = list(dict.fromkeys(hidden))
        if not pending:
            break
    return graph


def _parse_walk(output: str) -> dict[str, _Node]:
    visited: dict[str, _Node] = {}
    for line in output.splitlines():
        if line:
            sha, parents, author, committer, written, committed, subject = line.split(_SEP, 6)
            visited[sha] = _Node(
                tuple(parents.split()),
                author.lower(),
                committer.lower(),
                int(written),
                int(committed),
                subject,
            )
    return visited


def _numstat(repo: git.Repo, ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """Lines added, deleted and files changed of each commit (a merge: none of its own)."""
    output = _run(repo, "log", *_PINNED, "--no-walk=unsorted", _STAT_FORMAT, "--numstat", *ids, "--")
    stats: dict[str, tuple[int, int, int]] = {}
    for record in output.split(_RECORD)[1:]:
        header, *lines = record.strip("\n").split("\n")
        added = deleted = files = 0
        for line in lines:
            if not line:
                continue
            plus, minus, _path = line.split("\t", 2)
            files += 1
            # A binary file shows "-" for both counts: it changed, but has no lines.
            added += int(plus) if plus != "-" else 0
            deleted += int(minus) if minus != "-" else 0
        stats[header.strip()] = (added, deleted, files)
    return stats


def _reaches(graph: dict[str, _Node], tip: str, targets: set[str]) -> bool:
    """Whether ``tip`` reaches one of ``targets`` through the commits walked."""
    seen: set[str] = set()
    todo = [tip]
    while todo:
        sha = todo.pop()
        if sha in targets:
            return True
        if sha in seen or sha not in graph:
            continue
        seen.add(sha)
        todo.extend(graph[sha].parents)
    return False


def _run(repo: git.Repo, command: str, *args: str) -> str:
    try:
        # GitPython's dynamic call: honours its configured git executable.
        return getattr(repo.git, command.replace("-", "_"))(*args)
    except git.GitCommandError as exc:
        raise RepositoryUnreadableError(str(repo.working_tree_dir), f"git {command} failed") from exc
