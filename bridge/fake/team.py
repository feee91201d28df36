"""A realistic, reproducible fake team: the data generator DevLake's seed promised and never shipped.

Seniors, mids and juniors work at different paces; weekends run at about 30% of weekday
activity; about one working day in ten is a day off. Each day carries what a real agent
sends: git activity, active clock hours, the day's command statistics (tests, builds,
installs, git), tools and projects. Each developer has an install or two, three of which go
silent a few days before the end, and the mobile app's test failure rate jumps in the last week,
so dashboards and alerts have something to show. The same seed and end date give the same team.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bridge.mapping.day import DeveloperDay

_FIRST = (
    "sarah",
    "omar",
    "li",
    "priya",
    "jonas",
    "amara",
    "diego",
    "mei",
    "tomas",
    "fatima",
    "noah",
    "yuki",
    "elena",
    "kwame",
    "ines",
    "arjun",
    "lena",
    "mateo",
    "hana",
    "ravi",
)
_LAST = (
    "johnson",
    "haddad",
    "wei",
    "patel",
    "berg",
    "okafor",
    "garcia",
    "chen",
    "novak",
    "rahman",
    "smith",
    "tanaka",
    "rossi",
    "mensah",
    "silva",
    "kumar",
    "fischer",
    "lopez",
    "kim",
    "iyer",
)
_REPOSITORIES = (
    "backend-api",
    "frontend-web",
    "mobile-app",
    "data-pipeline",
    "infra",
    "auth-service",
    "payments",
    "docs-site",
)
_TEST_TOOL = {
    "backend-api": "pytest",
    "frontend-web": "jest",
    "mobile-app": "gradle",
    "data-pipeline": "pytest",
    "infra": "go",
    "auth-service": "go",
    "payments": "mvn",
    "docs-site": "npm",
}
_BUILD_TOOL = {
    "backend-api": "docker",
    "frontend-web": "npm",
    "mobile-app": "gradle",
    "data-pipeline": "make",
    "infra": "go",
    "auth-service": "go",
    "payments": "mvn",
    "docs-site": "npm",
}
_TOOLS = ("vscode", "intellij", "pycharm", "goland", "vim", "docker", "git", "python", "node", "go", "java")
_BRANCHES = (
    "main",
    "develop",
    "feature/api-enhancement",
    "feature/ui-update",
    "fix/login-timeout",
    "feature/search",
    "chore/deps",
    "fix/flaky-test",
)
JUMPING_REPOSITORY = "mobile-app"  # its test failure rate jumps in the last week
SILENT_INSTALLS = 3


@dataclass(frozen=True, slots=True)
class Profile:
    """How a level of seniority works on an average weekday."""

    level: str
    hours: float
    commits: float
    lines_per_commit: float
    tests: float
    builds: float


PROFILES = (
    Profile("senior", hours=6.5, commits=6.0, lines_per_commit=45, tests=6.0, builds=4.0),
    Profile("mid", hours=6.0, commits=4.5, lines_per_commit=35, tests=4.0, builds=3.0),
    Profile("junior", hours=5.0, commits=2.5, lines_per_commit=25, tests=2.0, builds=3.0),
)
WEEKEND_ACTIVITY = 0.3
DAY_OFF_CHANCE = 0.1


@dataclass(frozen=True, slots=True)
class FakeDeveloper:
    developer_id: str
    name: str
    email: str
    hostname: str
    profile: Profile
    repositories: tuple[str, ...]
    tools: tuple[str, ...]
    installs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FakeDay:
    """One developer-day as an agent would report it."""

    row: DeveloperDay
    install_id: str
    active_clock_hours: tuple[int, ...]  # Unix seconds of each active hour's start
    command_stats: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class FakeInstall:
    """An install's base telemetry: when it was first seen and its last heartbeat."""

    install_id: str
    developer_id: str
    fields: dict[str, str]
    first_seen_at: dt.datetime
    heartbeat_at: dt.datetime


def make_team(size: int, rng: random.Random) -> list[FakeDeveloper]:
    if size < 1:
        raise ValueError("a team has at least one developer")
    team = []
    for index in range(size):
        first, last = _FIRST[index % len(_FIRST)], _LAST[(index * 7) % len(_LAST)]
        suffix = "" if index < len(_FIRST) else str(index // len(_FIRST))
        developer_id = f"{first}.{last}{suffix}"
        machines = 2 if index % 5 == 0 else 1
        team.append(
            FakeDeveloper(
                developer_id=developer_id,
                name=f"{first.title()} {last.title()}",
                email=f"{developer_id}@example.com",
                hostname=f"{first}-{rng.choice(('macbook-pro', 'thinkpad', 'workstation'))}",
                profile=PROFILES[index % len(PROFILES)],
                repositories=tuple(rng.sample(_REPOSITORIES, rng.randint(2, 4))),
                tools=tuple(rng.sample(_TOOLS, rng.randint(3, 6))),
                installs=tuple(f"{rng.getrandbits(128):032x}" for _ in range(machines)),
            )
        )
    return team


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: counts of events on a day are Poisson-like, never negative."""
    if mean <= 0:
        return 0
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def _command_stats(
    repo: str, scale: float, profile: Profile, failing: bool, rng: random.Random
) -> list[dict[str, Any]]:
    stats = []
    test_runs = profile.tests * scale * (1.5 if failing else 0.5)  # a broken suite gets re-run
    for category, tool, runs, median in (
        ("test", _TEST_TOOL[repo], _poisson(rng, test_runs), rng.uniform(4, 90)),
        ("build", _BUILD_TOOL[repo], _poisson(rng, profile.builds * scale / 2), rng.uniform(10, 240)),
        (
            "install",
            "pip" if _TEST_TOOL[repo] == "pytest" else "npm",
            _poisson(rng, 0.5 * scale),
            rng.uniform(5, 60),
        ),
        ("vcs", "git", _poisson(rng, 10 * scale), rng.uniform(0.05, 2)),
    ):
        fail_rate = 0.5 if failing and category == "test" else 0.08
        failures = sum(rng.random() < fail_rate for _ in range(runs))
        interrupted = 1 if runs > 3 and rng.random() < 0.1 else 0
        for outcome, count in (
            ("success", runs - failures - interrupted),
            ("failure", failures),
            ("interrupted", interrupted),
        ):
            if count <= 0:
                continue
            p50 = round(median * rng.uniform(0.8, 1.2), 3)
            wall = round(count * p50 * 1.1, 3)
            stats.append(
                {
                    "repository": repo,
                    "category": category,
                    "tool": tool,
                    "outcome": outcome,
                    "count": count,
                    "total_duration_s": wall,
                    "p50_duration_s": p50,
                    "p95_duration_s": round(p50 * rng.uniform(1.3, 3), 3),
                    "cpu_time_s": round(wall * rng.uniform(0.2, 0.95), 3),
                    "wall_time_s": wall,
                }
            )
    return stats


def _day(
    dev: FakeDeveloper, date: dt.date, end: dt.date, connection_id: int, rng: random.Random
) -> FakeDay | None:
    weekend = date.weekday() >= 5
    if weekend and rng.random() > WEEKEND_ACTIVITY:
        return None
    if not weekend and rng.random() < DAY_OFF_CHANCE:
        return None
    scale = WEEKEND_ACTIVITY if weekend else 1.0
    p = dev.profile
    hours = max(1, min(12, round(rng.gauss(p.hours * scale, 1.5))))
    start_hour = rng.randint(7, 11)
    midnight = int(dt.datetime.combine(date, dt.time(), dt.UTC).timestamp())
    clock_hours = tuple(midnight + 3600 * h for h in range(start_hour, min(24, start_hour + hours)))
    repositories, stats = [], []
    for name in rng.sample(dev.repositories, rng.randint(1, len(dev.repositories))):
        commits = _poisson(rng, p.commits * scale / 2)
        added = sum(max(1, int(rng.lognormvariate(0, 0.8) * p.lines_per_commit)) for _ in range(commits))
        repositories.append(
            {
                "name": name,
                "commits": commits,
                "lines_added": added,
                "lines_deleted": int(added * rng.uniform(0.1, 0.6)),
                "files_changed": sum(rng.randint(1, 6) for _ in range(commits)),
                "branches_worked": sorted(rng.sample(_BRANCHES, rng.randint(1, 2))) if commits else [],
            }
        )
        failing = name == JUMPING_REPOSITORY and (end - date).days < 7
        stats.extend(_command_stats(name, scale, p, failing, rng))
    repositories.sort(key=lambda repo: repo["name"])  # as the receiver stores a merged day
    counts: dict[str, int] = {}
    for entry in stats:
        counts[entry["category"]] = counts.get(entry["category"], 0) + entry["count"]
    projects = [
        {
            "name": repo["name"],
            "last_activity": dt.datetime.fromtimestamp(clock_hours[-1] + rng.randint(0, 3599), dt.UTC)
            .isoformat()
            .replace("+00:00", "Z"),
        }
        for repo in repositories
    ]
    row = DeveloperDay(
        connection_id=connection_id,
        developer_id=dev.developer_id,
        date=date,
        email=dev.email,
        name=dev.name,
        hostname=dev.hostname,
        os_info="darwin 24.2.0" if len(dev.name) % 2 else "linux 6.8.0",
        active_hours=len(clock_hours),
        git_activity={
            "total_commits": sum(r["commits"] for r in repositories),
            "total_lines_added": sum(r["lines_added"] for r in repositories),
            "total_lines_deleted": sum(r["lines_deleted"] for r in repositories),
            "total_files_changed": sum(r["files_changed"] for r in repositories),
            "repositories": repositories,
        },
        development_activity={
            "test_runs_detected": counts.get("test", 0),
            "build_commands_detected": counts.get("build", 0),
        },
        tools_used=sorted(rng.sample(dev.tools, rng.randint(1, len(dev.tools)))),
        project_context=projects,
    )
    return FakeDay(row, dev.installs[0], clock_hours, tuple(stats))


def _first_date(end: dt.date, weeks: int) -> dt.date:
    if weeks < 1:
        raise ValueError("--weeks must be at least 1")
    return end - dt.timedelta(weeks=weeks) + dt.timedelta(days=1)


def generate_days(
    developers: int, weeks: int, *, connection_id: int, seed: int = 42, end: dt.date | None = None
) -> Iterator[FakeDay]:
    """Every active developer-day from ``weeks`` weeks before ``end`` (default: yesterday) to ``end``."""
    end = end or dt.date.today() - dt.timedelta(days=1)
    first = _first_date(end, weeks)
    rng = random.Random(seed)
    team = make_team(developers, rng)
    for offset in range((end - first).days + 1):
        date = first + dt.timedelta(days=offset)
        for dev in team:
            day = _day(dev, date, end, connection_id, rng)
            if day is not None:
                yield day


def generate_installs(
    developers: int, weeks: int, *, seed: int = 42, end: dt.date | None = None
) -> list[FakeInstall]:
    """Each install's first sighting and last heartbeat; the first few go silent days before the end."""
    end = end or dt.date.today() - dt.timedelta(days=1)
    first_date = _first_date(end, weeks)
    rng = random.Random(seed)
    team = make_team(developers, rng)
    last_moment = dt.datetime.combine(end, dt.time(23, 0), dt.UTC)
    installs = []
    for index, dev in enumerate(team):
        for machine, install_id in enumerate(dev.installs):
            silent = index < SILENT_INSTALLS and machine == 0
            heartbeat = last_moment - dt.timedelta(
                days=rng.randint(3, 7) if silent else 0, minutes=rng.randint(0, 600)
            )
            first_seen = dt.datetime.combine(first_date, dt.time(9), dt.UTC) + dt.timedelta(
                hours=rng.randint(0, 200)
            )
            linux = index % 3 == 0
            installs.append(
                FakeInstall(
                    install_id=install_id,
                    developer_id=dev.developer_id,
                    fields={
                        "app_version": rng.choice(("0.9.2", "1.0.0", "1.0.0", "1.1.0", "1.1.0", "1.1.0")),
                        "platform": "linux" if linux else "darwin",
                        "os_version": "6.8.0" if linux else "24.2.0",
                        "architecture": "x86_64" if linux else "arm64",
                        "locale": rng.choice(("en_US", "en_GB", "de_DE", "pt_BR")),
                        "timezone": rng.choice(("Europe/Berlin", "America/New_York", "Asia/Karachi")),
                        "release_channel": "beta" if index == 4 else "stable",
                        "deployment_type": "mdm" if index % 4 else "manual",
                    },
                    first_seen_at=min(first_seen, heartbeat),
                    heartbeat_at=heartbeat,
                )
            )
    return installs
