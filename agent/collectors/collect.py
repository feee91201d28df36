"""One collection run: observe what only exists now, then build each requested day's report.

Every run first records the moment's observations (file mtimes, running tools) in the
activity store, then rebuilds each day from git, the store and the caller's shell signals.
A day is always rebuilt whole, never added to, so any number of runs gives the same totals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from agent.collectors import discovery, files, git, projects, tools
from agent.collectors.activity import active_clock_hours, active_minutes
from agent.collectors.clock import LocalDay, local_zone, today
from agent.collectors.errors import InvalidArgumentError, RepositoryUnreadableError
from agent.collectors.settings import CollectorSettings
from agent.collectors.store import ActivityStore
from agent.day import DayReport, RepositoryActivity

log = logging.getLogger(__name__)

# (when, repository path or None): a shell command from the hook, or any other activity
# signal the agent core gathers. ``when`` is epoch seconds or a timezone-aware datetime.
ShellSignal = tuple[float | dt.datetime, str | Path | None]


@dataclass(frozen=True, slots=True)
class _Signal:
    at: float
    repository: Path | None


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
    repositories = _repositories(settings, signals)
    days = [LocalDay.of(date, zone) for date in dates]
    store = ActivityStore(settings.resolved_state_path())
    try:
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
        when, path = item
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"shell_signals: {item!r} is not a (timestamp, path) pair") from exc
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
    return _Signal(stamp, repository)


def _repositories(settings: CollectorSettings, signals: list[_Signal]) -> list[Path]:
    found = discovery.discover(settings.roots, settings.depth, settings.skip_directories)
    found += [discovery.checked_repository(path) for path in settings.extra_repositories]
    found += [s.repository for s in signals if s.repository is not None]
    return list(dict.fromkeys(found))


def _observe(
    store: ActivityStore, repositories: list[Path], since: float, now: float, settings: CollectorSettings
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


def _report(
    day: LocalDay,
    repositories: list[Path],
    shell: list[_Signal],
    store: ActivityStore,
    settings: CollectorSettings,
) -> DayReport:
    signals = [s for s in shell if day.contains(s.at)]
    signals += [_Signal(minute, Path(repo)) for repo, minute in store.file_signals(day.start, day.end)]
    activity: dict[Path, git.RepositoryDay] = {}
    counted: set[str] = set()
    for repo in _one_tree_per_store(repositories):
        result = _git_day(repo, day, store, settings)
        # A commit also on a local branch of another clone (pulled there) counts once, in the
        # first repository by path.
        fresh = tuple(c for c in result.commits if c.id not in counted)
        counted.update(c.id for c in fresh)
        if fresh:
            activity[repo] = replace(result, commits=fresh)
            signals += [_Signal(c.committed_at, repo) for c in fresh]
    hours = active_clock_hours(day, (s.at for s in signals))
    last: dict[Path, float] = {}
    for s in signals:
        if s.repository is not None:
            last[s.repository] = max(last.get(s.repository, s.at), s.at)
    names = projects.unique_names([*repositories, *last])
    return DayReport(
        date=day.date,
        active_clock_hours=hours,
        active_minutes=active_minutes(day, (s.at for s in signals), settings.gap_minutes),
        repositories=[_repository(repo, names[repo], result, settings) for repo, result in activity.items()],
        tools_used={
            tool
            for tool, minute in store.tool_sightings(day.start, day.end)
            if day.clock_hour(minute) in hours
        },
        projects=projects.projects(last, names, allow_paths=settings.allow_paths),
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


def _git_day(
    repo: Path, day: LocalDay, store: ActivityStore, settings: CollectorSettings
) -> git.RepositoryDay:
    """The day's commits of one repository, from the store when no branch has moved since."""
    try:
        handle = git.open_repository(repo)
        state = git.branch_state(handle)
        key = hashlib.sha256(
            "\n".join([state.fingerprint, str(day.end), *settings.author_emails]).encode()
        ).hexdigest()
        cached = store.git_day(str(repo), day.start, key)
        if cached is not None:
            return cached
        result = git.day_activity(handle, state, day.start, day.end, settings.author_emails)
    except RepositoryUnreadableError as exc:
        # One broken repository must not cost the developer the rest of the day's report.
        log.warning("skipping repository: %s", exc)
        return git.EMPTY_DAY
    store.save_git_day(str(repo), day.start, key, result)
    return result


def _repository(
    repo: Path, name: str, result: git.RepositoryDay, settings: CollectorSettings
) -> RepositoryActivity:
    commits = result.commits
    return RepositoryActivity(
        name=name,
        path=str(repo) if settings.allow_paths else None,
        commits=len(commits),
        lines_added=sum(c.lines_added for c in commits),
        lines_deleted=sum(c.lines_deleted for c in commits),
        files_changed=sum(c.files_changed for c in commits),
        branches_worked=list(result.branches),
        commit_ids=[settings.hash_commit_id(c.id) for c in commits],
    )
