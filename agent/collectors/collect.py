"""One collection run: observe what only exists now, then build each requested day's report.

Every run first records the moment's observations (file mtimes, running tools) in the
activity store, then rebuilds each day from git, the store and the caller's shell signals.
A day is always rebuilt whole, never added to, so any number of runs gives the same totals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from agent.collectors import discovery, files, git, gitconfig, origin, projects, tools
from agent.collectors.activity import active_clock_hours, active_minutes, span_clock_hours
from agent.collectors.clock import LocalDay, local_zone, today
from agent.collectors.errors import InvalidArgumentError, RepositoryUnreadableError
from agent.collectors.settings import CollectorSettings
from agent.collectors.store import ActivityStore
from agent.day import CommitDetail, DayReport, RepositoryActivity

log = logging.getLogger(__name__)

# (when, repository path or None[, seconds it lasted]): a shell command from the hook, or any
# other activity signal the agent core gathers. ``when`` is epoch seconds or a timezone-aware
# datetime (for a command, when it ended); a duration makes every clock hour it spans active.
ShellSignal = (
    tuple[float | dt.datetime, str | Path | None] | tuple[float | dt.datetime, str | Path | None, float]
)


@dataclass(frozen=True, slots=True)
class _Signal:
    at: float
    repository: Path | None
    lasted: float = 0.0


def collect_day(
    date: dt.date,
    settings: CollectorSettings,
    *,
    shell_signals: Iterable[ShellSignal] = (),
    now: dt.datetime | None = None,
) -> DayReport:
    """The full-day totals of ``date`` (a local calendar date) as this machine sees them now."""
    return _collect([date], settings, shell_signals=shell_signals, now=now, progress=False)[0]


def backfill(
    days: int,
    settings: CollectorSettings,
    progress: bool = True,
    *,
    shell_signals: Iterable[ShellSignal] = (),
    now: dt.datetime | None = None,
) -> list[DayReport]:
    """The last ``days`` local days up to today, oldest first, rebuilt from git history."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InvalidArgumentError(f"days: {days!r} is not a positive integer")
    moment = _now(now)
    last = today(settings.timezone or local_zone(), moment)
    dates = [last - dt.timedelta(days=back) for back in range(days - 1, -1, -1)]
    return _collect(dates, settings, shell_signals=shell_signals, now=moment, progress=progress)


def _collect(
    dates: Sequence[dt.date],
    settings: CollectorSettings,
    *,
    shell_signals: Iterable[ShellSignal],
    now: dt.datetime | None,
    progress: bool,
) -> list[DayReport]:
    zone = settings.timezone or local_zone()
    moment = _now(now)
    for date in dates:
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            raise InvalidArgumentError(f"date: {date!r} is not a datetime.date")
        if date > today(zone, moment):
            raise InvalidArgumentError(f"date: {date.isoformat()} is after today ({today(zone, moment)})")
    signals = [_signal(item) for item in shell_signals]
    found = _repositories(settings, signals)
    days = [LocalDay.of(date, zone) for date in dates]
    store = ActivityStore(settings.resolved_state_path())
    try:
        repositories = _resolve(found, settings, store)
        _observe(store, repositories, min(day.start for day in days), moment.timestamp(), settings)
        bar = tqdm(days, desc="collecting days", unit="day", disable=not progress, leave=False)
        return [_report(day, repositories, signals, store, settings) for day in bar]
    finally:
        store.close()


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        raise InvalidArgumentError(f"now: {now!r} is not a timezone-aware datetime")
    return now


def _signal(item: ShellSignal) -> _Signal:
    try:
        when, path, *rest = item
        (lasted,) = rest or (0.0,)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"shell_signals: {item!r} is not a (timestamp, path) pair or a (timestamp, path, seconds) triple"
        ) from exc
    if isinstance(lasted, bool) or not isinstance(lasted, int | float) or not 0 <= lasted < math.inf:
        raise InvalidArgumentError(f"shell_signals: duration {lasted!r} is not a number of seconds >= 0")
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            raise InvalidArgumentError(f"shell_signals: {when!r} has no time zone")
        stamp = when.timestamp()
    elif isinstance(when, int | float) and not isinstance(when, bool):
        stamp = float(when)
    else:
        raise InvalidArgumentError(f"shell_signals: {when!r} is not a timestamp")
    # The directory a command ran in may be anywhere inside a repository, or gone by now.
    repository = discovery.repository_of(Path(path).resolve()) if path is not None else None
    return _Signal(stamp, repository, float(lasted))


def _repositories(settings: CollectorSettings, signals: list[_Signal]) -> list[Path]:
    found = discovery.discover(settings.roots, settings.depth, settings.skip_directories)
    found += [discovery.checked_repository(path) for path in settings.extra_repositories]
    found += [s.repository for s in signals if s.repository is not None]
    return list(dict.fromkeys(found))


def _observe(
    store: ActivityStore, repositories: Iterable[Path], since: float, now: float, settings: CollectorSettings
) -> None:
    changes: list[tuple[str, float]] = []
    scans = []
    for repo in repositories:
        start, coverage = store.scan_window(str(repo), since, now)
        stamps = files.modification_times(
            repo, start, now + 1, skip=settings.skip_directories, max_files=settings.max_files_per_repository
        )
        changes += [(str(repo), stamp) for stamp in stamps]
        scans.append(coverage)
    store.record(files=changes, scans=scans, tools=tools.running_tools(settings.tool_patterns), at=now)


@dataclass(frozen=True, slots=True)
class _Repository:
    """A work tree as this run resolved it: who the developer is there, and what it is."""

    path: Path
    identity: origin.RepositoryIdentity
    emails: tuple[str, ...]  # git's user.email there, then the configured extra addresses


def _resolve(
    repositories: list[Path], settings: CollectorSettings, store: ActivityStore
) -> dict[Path, _Repository]:
    """Who the developer is in each work tree and what it is (gitconfig.py keeps the answers)."""
    resolved: dict[Path, _Repository] = {}
    for path in repositories:
        try:
            answer = gitconfig.resolve(path, store)
        except RepositoryUnreadableError as exc:
            log.warning("skipping repository: %s", exc)
            answer = gitconfig.ResolvedConfig(git.RepositoryConfig(emails=(), origin=None), None)
        emails = tuple(dict.fromkeys([*answer.config.emails, *settings.author_emails]))
        resolved[path] = _Repository(path, origin.identity(path, answer.config.origin, answer.root), emails)
    return resolved


def _report(
    day: LocalDay,
    repositories: dict[Path, _Repository],
    shell: list[_Signal],
    store: ActivityStore,
    settings: CollectorSettings,
) -> DayReport:
    spans = [(s.at - s.lasted, s.at) for s in shell if s.lasted]
    signals = [s for s in shell if day.contains(s.at)]
    signals += [_Signal(minute, Path(repo)) for repo, minute in store.file_signals(day.start, day.end)]
    activity: dict[str, list[git.RepositoryDay]] = {}
    counted: set[str] = set()
    warnings: list[str] = []
    trees = _one_tree_per_store(list(repositories))
    for repo in trees:
        info = repositories[repo]
        result = _git_day(info, day, store)
        if result.unmatched:
            warnings.append(
                f"{repo}: the day's commits are by {', '.join(result.unmatched)}, none of your "
                f"addresses here ({', '.join(info.emails) or 'none configured'})"
            )
        # A commit also on a local branch of another clone (pulled there) counts once, in the
        # first repository by path.
        fresh = tuple(c for c in result.commits if c.id not in counted)
        counted.update(c.id for c in fresh)
        if fresh:
            activity.setdefault(info.identity.key, []).append(replace(result, commits=fresh))
            signals += [_Signal(c.written_at, repo) for c in fresh]
    hours = active_clock_hours(day, (s.at for s in signals)) | span_clock_hours(day, spans)
    last: dict[str, float] = {}
    paths: dict[str, Path] = {}
    for s in signals:
        if s.repository is not None and s.repository in repositories:
            key = repositories[s.repository].identity.key
            last[key] = max(last.get(key, s.at), s.at)
            paths.setdefault(key, s.repository)
    identities: dict[str, origin.RepositoryIdentity] = {}
    for repo in [*trees, *repositories]:  # a main work tree names its linked worktrees
        identities.setdefault(repositories[repo].identity.key, repositories[repo].identity)
    names = origin.display_names([identities[key] for key in {*activity, *last}])
    commits = [c for results in activity.values() for r in results for c in r.commits]
    return DayReport(
        date=day.date,
        active_clock_hours=hours,
        active_minutes=active_minutes(day, (s.at for s in signals), settings.gap_minutes),
        repositories=[
            _repository(key, names[key], results, paths.get(key), settings)
            for key, results in activity.items()
        ],
        tools_used={
            tool
            for tool, minute in store.tool_sightings(day.start, day.end)
            if day.clock_hour(minute) in hours
        },
        projects=projects.projects(last, names, paths, allow_paths=settings.allow_paths),
        author_email=Counter(c.email for c in commits).most_common(1)[0][0] if commits else None,
        identity_warnings=warnings,
    )


def _one_tree_per_store(repositories: list[Path]) -> list[Path]:
    """One work tree per git store, sorted: linked worktrees share their branches and commits.

    The main work tree (the one holding the store as its ``.git``) speaks for the others.
    """
    chosen: dict[Path, Path] = {}
    for tree in sorted(repositories):
        storage = discovery.git_storage(tree)
        if storage not in chosen or storage == tree / ".git":
            chosen[storage] = tree
    return sorted(chosen.values())


# Part of every cached result's key: a change of the counting rules invalidates old results.
_GIT_RULES = "author-and-committer, author day, v2"


def _git_day(info: _Repository, day: LocalDay, store: ActivityStore) -> git.RepositoryDay:
    """The day's commits of one repository, from the store when no branch has moved since."""
    try:
        handle = git.open_repository(info.path)
        state = git.branch_state(handle)
        key = hashlib.sha256(
            "\n".join([_GIT_RULES, state.fingerprint, str(day.end), *info.emails]).encode()
        ).hexdigest()
        cached = store.git_day(str(info.path), day.start, key)
        if cached is not None:
            return cached
        result = git.day_activity(handle, state, day.start, day.end, info.emails)
    except RepositoryUnreadableError as exc:
        # One broken repository must not cost the developer the rest of the day's report.
        log.warning("skipping repository: %s", exc)
        return git.EMPTY_DAY
    store.save_git_day(str(info.path), day.start, key, result)
    return result


def _repository(
    key: str,
    name: str,
    results: list[git.RepositoryDay],
    path: Path | None,
    settings: CollectorSettings,
) -> RepositoryActivity:
    """One repository's figures; clones of it on this machine (same origin) are one repository."""
    commits = [c for r in results for c in r.commits]
    return RepositoryActivity(
        name=name,
        path=str(path) if settings.allow_paths and path is not None else None,
        commits=len(commits),
        lines_added=sum(c.lines_added for c in commits),
        lines_deleted=sum(c.lines_deleted for c in commits),
        files_changed=sum(c.files_changed for c in commits),
        branches_worked=sorted({b for r in results for b in r.branches}),
        commit_ids=[settings.hash_commit_id(c.id) for c in commits],
        id=settings.hash_commit_id(f"repository:{key}"),
        commit_details=[
            CommitDetail(settings.hash_commit_id(c.id), c.lines_added, c.lines_deleted, c.files_changed)
            for c in commits
        ],
    )
