"""Fixtures for the shell tests: interactive sessions with the hook installed, and their spool."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.shell.spool import SPOOL_FILE, SpoolRecord, ensure_spool, parse_line
from tests.agent.shell.ptyshell import PtyShell, shell_env, write_rc

SHELLS = ("bash", "zsh", "fish")


def spool_records(devtel_home: Path) -> list[SpoolRecord]:
    path = devtel_home / SPOOL_FILE
    if not path.exists():
        return []
    records = [parse_line(line) for line in path.read_bytes().splitlines(keepends=True)]
    assert None not in records, f"the hook wrote a line the reader cannot parse: {path.read_bytes()!r}"
    return [r for r in records if r is not None]


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    if shutil.which(request.param) is None:
        pytest.fail(f"{request.param} is not installed; the shell tests need bash, zsh and fish")
    return request.param


Start = Callable[..., PtyShell]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """start(shell, before=..., installs=..., after=..., devtel_home=..., wrap=...) -> a running session."""
    sessions: list[PtyShell] = []

    def run(
        shell: str,
        *,
        before: str = "",
        installs: int = 1,
        after: str = "",
        devtel_home: Path | None = None,
        wrap: tuple[str, ...] = (),
        cwd: Path | None = None,
    ) -> PtyShell:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        if devtel_home is None:  # as `devtel-agent hook` leaves it
            devtel_home = tmp_path / "devtel"
            ensure_spool(devtel_home)
        argv = write_rc(shell, home, before=before, installs=installs, after=after)
        session = PtyShell(argv, shell_env(home, devtel_home), cwd or home, wrap=wrap)
        sessions.append(session)
        return session

    yield run
    for session in sessions:
        session.close()


@pytest.fixture
def devtel_home(tmp_path: Path) -> Path:
    path = tmp_path / "devtel"
    ensure_spool(path)
    return path
