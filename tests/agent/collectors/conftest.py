"""Fixtures for the collector tests: settings pointed at temporary roots and state."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.collectors import CollectorSettings
from tests.agent.collectors.gitrepo import DEV

UTC = dt.UTC


def fake_hash(commit_id: str) -> str:
    return hashlib.sha256(b"salt" + commit_id.encode()).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "code"
    path.mkdir()
    return path


@pytest.fixture
def make_settings(root: Path, agent_env: dict[str, str]) -> Callable[..., CollectorSettings]:
    """Settings over ``root`` with state in the test's DEVTEL_HOME; keywords override any field."""

    def make(**overrides: Any) -> CollectorSettings:
        values: dict[str, Any] = {
            "author_emails": (DEV,),
            "hash_commit_id": fake_hash,
            "roots": (root,),
            "timezone": dt.UTC,
            "tool_patterns": {},
        }
        values.update(overrides)
        return CollectorSettings(**values)

    return make


HISTORY_COMMITS = 100_000
HISTORY_LAST = dt.datetime(2026, 6, 15, 23, 50, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def history_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 100k-commit repository, built once per session with ``git fast-import``."""
    from tests.agent.collectors.gitrepo import build_history

    return build_history(tmp_path_factory.mktemp("history") / "big", HISTORY_COMMITS, HISTORY_LAST)
