"""No day lost to a shutdown: `devtel-agent run` (a real process, sending to the real receiver)
catches up the days since the last one delivered when it starts, and runs one final collection
round on SIGTERM. The figures are checked against ``git log``."""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from pathlib import Path

import pytest

from agent.cli import main
from tests.agent.collectors.gitrepo import commit, init
from tests.agent.collectors.truth import day_truth
from tests.agent.conftest import EMAIL, otlp_sink
from tests.agent.test_cli import _agent_process
from tests.agent.test_with_receiver import _row, real_receiver  # noqa: F401  (a module fixture)

WAIT_S = 60  # an upper bound for a slow shared machine, not a figure under test


def _commits(db_path: Path, date: dt.date) -> int | None:
    row = _row(db_path, date)
    return json.loads(row["git_activity"])["total_commits"] if row else None


def _wait_for(db_path: Path, date: dt.date, commits: int) -> int | None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and _commits(db_path, date) != commits:
        time.sleep(0.1)
    return _commits(db_path, date)


@pytest.fixture
def laptop(real_receiver, env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    """A developer's repository and an agent sending to the real receiver, rounds an hour apart."""
    receiver, _, key, db_path = real_receiver
    monkeypatch.setenv("TZ", "UTC")
    root = tmp_path / "code"
    repo = init(root / "app")
    Path(env["DEVTEL_CONFIG"]).write_text(
        f'[collectors]\nroots = ["{root}"]\n[shell]\nenabled = false\n[relay]\nenabled = false\n'
        "[agent]\ninterval_seconds = 3600\n"
        + otlp_sink(receiver.url, "r")
        + f'[sinks.r.headers]\nAuthorization = "Bearer {key}"\n'
    )
    assert main(["consent", "detailed"]) == 0
    return repo, db_path


def test_run_started_the_morning_after_sends_the_evenings_tail(laptop) -> None:
    repo, db_path = laptop
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    evening = dt.datetime.combine(yesterday, dt.time(17, 30), dt.UTC)
    commit(repo, evening, {"a.py": "a\n"}, email=EMAIL)
    assert main(["collect", "--date", yesterday.isoformat()]) == 0  # the 18:00 round, delivered
    assert _commits(db_path, yesterday) == 1
    # 18:03, then the lid closes: no round ran after this commit.
    commit(repo, evening + dt.timedelta(minutes=33), {"b.py": "b\nb\n"}, email=EMAIL)

    run = _agent_process("run")  # the next morning
    try:
        truth = day_truth(repo, yesterday, {EMAIL})
        assert _wait_for(db_path, yesterday, truth.commits) == truth.commits == 2
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(WAIT_S) == 0, run.communicate()
    row = _row(db_path, yesterday)
    assert json.loads(row["git_activity"])["total_lines_added"] == truth.lines_added == 3


def test_sigterm_runs_a_final_round_before_exit(laptop) -> None:
    repo, db_path = laptop
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.date()
    commit(repo, now - dt.timedelta(seconds=5), {"a.py": "a\n"}, email=EMAIL)
    run = _agent_process("run")
    try:
        assert _wait_for(db_path, today, 1) == 1  # the first round was delivered
        commit(repo, now, {"b.py": "b\n" * 4}, email=EMAIL)  # work after it: only a final round sees it
    finally:
        run.send_signal(signal.SIGTERM)  # logout; the next round was an hour away
        assert run.wait(WAIT_S) == 0, run.communicate()
    truth = day_truth(repo, today, {EMAIL})
    assert _commits(db_path, today) == truth.commits == 2
    assert json.loads(_row(db_path, today)["git_activity"])["total_lines_added"] == truth.lines_added == 5


@pytest.mark.parametrize(
    ("delivered", "config", "expected"),
    [
        (None, "", 1),  # a fresh install: today only (`collect --days N` backfills)
        (3, "", 4),  # the last day delivered (its tail may be missing) up to today
        (30, "", 14),  # bounded by the default
        (30, "[agent]\ncatch_up_days = 5\n", 5),
        ("not-a-date", "", 1),  # a hand-edited state file: today
    ],
)
def test_catch_up_covers_the_days_since_the_last_one_delivered_within_the_bound(
    env, agent, delivered, config: str, expected: int
) -> None:
    Path(env["DEVTEL_CONFIG"]).write_text(config)
    today = dt.date(2026, 12, 4)
    state = agent().state
    if delivered is not None:
        last = today - dt.timedelta(days=delivered) if isinstance(delivered, int) else delivered
        state.update(last_day_delivered=str(last))

    dates = agent().catch_up_dates(today)

    assert dates == [today - dt.timedelta(days=n) for n in range(expected - 1, -1, -1)]
