"""The reliability suite's parts: real agent installs (their own DEVTEL_HOME and config), the
receiver's stored rows, the comparison with the agent's local truth, and the fault table.

Every case ends with ``compare``: for each (developer, date) the agent holds in its local day
store, the stored row must equal that day exactly. A missing row or a smaller figure is *lost*;
a larger figure is *doubled* (a re-send counted twice). The figures each case records are printed
as a table at the end of the run (and written as JSON when DEVTEL_FAULT_TABLE names a file, which
is how ``scripts/fault_table.py`` collects them).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from agent.day import DayReport, RepositoryActivity
from agent.emit import KIND_DAY, private_day
from agent.pipeline import Agent
from agent.store import DayStore
from bridge.store.database import make_engine
from tests.support.processes import ROOT

TABLE_ENV = "DEVTEL_FAULT_TABLE"
ROW_FIELDS = ("active_hours", "git_activity", "development_activity", "tools_used", "project_context")


# --- the agent's local truth -------------------------------------------------------------
def snapshot(date: dt.date, step: int, salt: str = "") -> DayReport:
    """The day as it stands after ``step`` hours of work: every figure grows with the step."""
    start = int(dt.datetime.combine(date, dt.time(8), dt.UTC).timestamp())
    commits = 2 * step + 1
    return DayReport(
        date=date,
        active_clock_hours={start + 3600 * h for h in range(min(step, 15) + 1)},
        active_minutes=45 * (step + 1),
        repositories=[
            RepositoryActivity(
                "devtel",
                commits=commits,
                lines_added=40 * commits,
                lines_deleted=7 * commits,
                files_changed=3 * commits,
                branches_worked=["main"],
                commit_ids=[f"{salt}{date}-c{n}" for n in range(commits)],
            )
        ],
        command_counts={"test": 3 * step, "build": step},
        tools_used={"git", "python"} | ({"docker"} if step > 3 else set()),
    )


def expected_row(day: DayReport) -> dict[str, Any]:
    """What the receiver must store for the day: the same full-day totals, paths removed."""
    devlake = private_day(day, allow_paths=False).to_devlake()
    return {name: devlake[name] for name in ROW_FIELDS}


@dataclass
class Install:
    """One agent install: DEVTEL_HOME, its config, and its environment (nothing inherited from OTEL_*)."""

    root: Path
    developer: str
    endpoint: str
    api_key: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / "home"

    def configure(self, *, backoff_max: float = 1.0, interval: float = 0.2) -> Install:
        self.root.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(exist_ok=True)
        config = self.root / "agent.toml"
        config.write_text(
            f'[identity]\ndeveloper_id = "{self.developer}"\n'
            f"[agent]\ninterval_seconds = {interval}\npoll_seconds = {interval}\n"
            f"[outbox]\nbackoff_base_seconds = 0.1\nbackoff_max_seconds = {backoff_max}\n"
            "[collectors]\nenabled = false\n"
            f'[sinks.receiver]\ntype = "otlp"\nendpoint = "{self.endpoint}"\n'
            f'[sinks.receiver.headers]\nAuthorization = "Bearer {self.api_key}"\n'
        )
        gitconfig = self.root / "gitconfig"
        gitconfig.write_text(f"[user]\n\temail = {self.developer}@example.com\n\tname = {self.developer}\n")
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "DEVTEL_")) and k not in ("DO_NOT_TRACK",)
        }
        self.env = {
            **inherited,
            "DEVTEL_HOME": str(self.home),
            "DEVTEL_CONFIG": str(config),
            "DEVTEL_POLICY": str(self.root / "policy.toml"),
            "DEVTEL_LEGACY_CONFIG": str(self.root / "legacy-config.json"),
            "GIT_CONFIG_GLOBAL": str(gitconfig),
            "PYTHONUNBUFFERED": "1",
        }
        Agent(self.env).set_consent("detailed")
        return self

    def agent(self) -> Agent:
        """The real agent pipeline in this process (outbox, sender, SDK encoding), on this install."""
        return Agent(self.env)

    def save(self, day: DayReport) -> None:
        DayStore(self.home).save(day)

    def truth(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Every day in the local store, as the row it must become."""
        store = DayStore(self.home)
        with sa.create_engine(f"sqlite:///{store.path}").connect() as conn:
            dates = conn.exec_driver_sql("SELECT date FROM days").scalars().all()
        days = (store.load(dt.date.fromisoformat(d)) for d in dates)
        return {(self.developer, day.date.isoformat()): expected_row(day) for day in days if day}

    def pending(self) -> tuple[int, int]:
        """(days still queued, items rejected) in the outbox.

        Only days count as pending: ``run`` queues its own cost metrics every round, so the outbox
        of a running agent is seldom empty, and that is not a day waiting to be delivered.
        """
        with sqlite3.connect(self.home / "outbox.db") as db:
            pending, rejected = db.execute(
                "SELECT COALESCE(SUM(status = 'pending' AND kind = ?), 0),"
                " COALESCE(SUM(status = 'rejected'), 0) FROM items",
                (KIND_DAY,),
            ).fetchone()
        return pending, rejected

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def spawn(self, *args: str, code: str | None = None) -> AgentProcess:
        """``devtel-agent <args>`` as its own process (SIGKILL-able), output appended to agent.log.

        ``code`` runs instead of ``-m agent`` (a wrapper that turns on debug logging, say).
        """
        log = self.root / "agent.log"
        entry = ["-c", code] if code else ["-m", "agent"]
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, *entry, *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return AgentProcess(process, log)


@dataclass
class AgentProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def install(tmp_path: Path) -> Callable[..., Install]:
    def make(developer: str, endpoint: str, api_key: str, **options: float) -> Install:
        return Install(tmp_path / developer, developer, endpoint, api_key).configure(**options)

    return make


# --- what the receiver stored -------------------------------------------------------------
def stored_rows(db_url: str, connection_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    f"SELECT developer_id, date, {', '.join(ROW_FIELDS)} FROM _tool_developer_metrics"
                    " WHERE connection_id = :c"
                ),
                {"c": connection_id},
            ).mappings()
            return {
                (r["developer_id"], str(r["date"])): {
                    name: json.loads(r[name]) if isinstance(r[name], str) else r[name] for name in ROW_FIELDS
                }
                for r in rows
            }
    except sa.exc.OperationalError:
        return {}  # no table yet, or the database is down: nothing readable is stored
    finally:
        engine.dispose()


def served_statuses(url: str) -> dict[str, float]:
    """The receiver's own request counters by status, from its /metrics."""
    counts: dict[str, float] = {}
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("devtel_receiver_requests_total{") and 'route="/v1/' in line:
            status = line.split('status="')[1].split('"')[0]
            counts[status] = counts.get(status, 0) + float(line.rsplit(" ", 1)[1])
    return counts


def _figures(value: Any, prefix: str = "") -> dict[str, float]:
    """Every number in a row, by path: the counts that would shrink if lost or grow if doubled."""
    if isinstance(value, bool):
        return {}
    if isinstance(value, int | float):
        return {prefix: value}
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _figures(item, f"{prefix}.{key}").items()}
    if isinstance(value, list):
        found: dict[str, float] = {prefix + "#": len(value)}
        for n, item in enumerate(value):
            found.update(_figures(item, f"{prefix}[{n}]"))
        return found
    return {}


@dataclass
class Comparison:
    days: int
    lost: list[str]
    doubled: list[str]
    different: list[str]

    @property
    def exact(self) -> bool:
        return not (self.lost or self.doubled or self.different)


def compare(
    truth: dict[tuple[str, str], dict[str, Any]], stored: dict[tuple[str, str], dict[str, Any]]
) -> Comparison:
    """Each day the agents hold against its stored row: lost, doubled, or otherwise different."""
    lost, doubled, different = [], [], []
    for key, want in sorted(truth.items()):
        got = stored.get(key)
        name = "/".join(key)
        if got is None:
            lost.append(f"{name}: no row")
            continue
        if got == want:
            continue
        want_n, got_n = _figures(want), _figures(got)
        smaller = [p for p, v in want_n.items() if got_n.get(p, 0) < v]
        larger = [p for p, v in got_n.items() if v > want_n.get(p, 0)]
        if smaller:
            lost.append(f"{name}: {', '.join(smaller)}")
        if larger:
            doubled.append(f"{name}: {', '.join(larger)}")
        if not smaller and not larger:
            different.append(f"{name}: {got} != {want}")
    extra = sorted(set(stored) - set(truth))
    different += [f"{'/'.join(k)}: a row the agents never had" for k in extra]
    return Comparison(len(truth), lost, doubled, different)


def wait_until_exact(
    truth: Callable[[], dict[tuple[str, str], dict[str, Any]]],
    stored: Callable[[], dict[tuple[str, str], dict[str, Any]]],
    timeout: float,
    poll: float = 0.1,
) -> tuple[Comparison, float]:
    """Poll until the stored rows equal the truth; (the final comparison, seconds it took)."""
    start = time.monotonic()
    while True:
        result = compare(truth(), stored())
        elapsed = time.monotonic() - start
        if result.exact or elapsed > timeout:
            return result, elapsed
        time.sleep(poll)


# --- the fault table ------------------------------------------------------------------------
@dataclass
class FaultFigure:
    case: str
    days: int
    lost: int
    doubled: int
    recovery_s: float
    note: str = ""


RESULTS: list[FaultFigure] = []


@pytest.fixture
def record() -> Callable[[str, Comparison, float, str], None]:
    """Record a case's figures for the table (call it before asserting, so a failure is shown too)."""

    def add(case: str, result: Comparison, recovery_s: float, note: str = "") -> None:
        RESULTS.append(
            FaultFigure(case, result.days, len(result.lost), len(result.doubled), recovery_s, note)
        )

    return add


def format_table(figures: list[FaultFigure]) -> str:
    header = f"{'case':<44} {'days':>5} {'lost':>5} {'doubled':>8} {'recovery':>9}  note"
    lines = [header, "-" * len(header)]
    for f in figures:
        lines.append(f"{f.case:<44} {f.days:>5} {f.lost:>5} {f.doubled:>8} {f.recovery_s:>8.1f}s  {f.note}")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.write_sep("=", "devtel fault and load figures")
    terminalreporter.write_line(format_table(RESULTS))
    if target := os.environ.get(TABLE_ENV):
        Path(target).write_text(json.dumps([asdict(f) for f in RESULTS], indent=2))
