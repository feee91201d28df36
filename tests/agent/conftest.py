"""Fixtures for the agent's tests: isolated paths, a real receiver, a known git identity."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.day import DayReport, ProjectActivity, RepositoryActivity
from agent.pipeline import Agent
from tests.agent.receiver import Receiver

EMAIL, FULL_NAME, LOGIN = "alice.devtel@example.com", "Alice Testperson", "alicedevtel"


@pytest.fixture
def env(agent_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """agent_env plus a policy and legacy path of our own, a fixed git identity and login."""
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f"[user]\n\temail = {EMAIL}\n\tname = {FULL_NAME}\n")
    values = {
        **agent_env,
        "DEVTEL_POLICY": str(tmp_path / "policy.toml"),
        "DEVTEL_LEGACY_CONFIG": str(tmp_path / "legacy-config.json"),
        "DEVTEL_SERVICE_DIR": str(tmp_path / "service"),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "LOGNAME": LOGIN,
    }
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def write_config(env: dict[str, str]) -> Callable[..., None]:
    """Write the user config (and optionally the policy) as TOML text.

    Unless the text has its own [collectors] table, the install collects nothing and sends the
    days the test put in its local store: these tests are about what happens to a known day.
    """

    def write(user: str = "", policy: str | None = None) -> None:
        fast = "[outbox]\nbackoff_base_seconds = 0.01\nbackoff_max_seconds = 0.05\n"
        stored_only = "[collectors]\nenabled = false\n"
        text = user if "[outbox]" in user else user + "\n" + fast
        Path(env["DEVTEL_CONFIG"]).write_text(text if "[collectors]" in text else text + stored_only)
        if policy is not None:
            Path(env["DEVTEL_POLICY"]).write_text(policy)

    return write


def otlp_sink(url: str, name: str = "main", protocol: str = "http/protobuf") -> str:
    return f'[sinks.{name}]\ntype = "otlp"\nendpoint = "{url}"\nprotocol = "{protocol}"\n'


def sample_day(date: dt.date, commits: int = 3) -> DayReport:
    start = int(dt.datetime.combine(date, dt.time(9), dt.UTC).timestamp())
    return DayReport(
        date=date,
        active_clock_hours={start, start + 3600},
        active_minutes=95,
        repositories=[
            RepositoryActivity(
                "devtel",
                path="/home/alice/src/devtel",
                commits=commits,
                lines_added=120,
                lines_deleted=30,
                files_changed=7,
                branches_worked=["main", "feature/x"],
                commit_ids=[f"{date}-c{n}" for n in range(commits)],  # one id per commit
            )
        ],
        command_counts={"test": 4, "build": 2},
        tools_used={"git", "python"},
        projects=[
            ProjectActivity("devtel", dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC), path="/home/alice/src")
        ],
    )


@pytest.fixture
def agent(env: dict[str, str]) -> Callable[[], Agent]:
    """A fresh Agent on the current environment (built after the test wrote its config)."""
    return lambda: Agent(os.environ)
