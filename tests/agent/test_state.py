"""State: a stable install id, merged atomic writes, a clear error for an unusable home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from agent.errors import StateError
from agent.state import State


def test_install_id_is_made_once_and_kept(tmp_path: Path) -> None:
    first = State(tmp_path / "home").install_id()
    assert first == State(tmp_path / "home").install_id()
    assert len(first) == 36


def test_updates_merge_nested_settings(tmp_path: Path) -> None:
    state = State(tmp_path)
    state.update(consent={"level": "detailed", "set_at": "t0"}, custom={"keep": 1})
    state.update(consent={"level": "base"})
    data = json.loads((tmp_path / "state.json").read_text())
    assert data["consent"] == {"level": "base", "set_at": "t0"} and data["custom"] == {"keep": 1}


def test_consent_toggle_keeps_every_other_setting(env: dict[str, str], write_config) -> None:
    write_config()
    State(Path(env["DEVTEL_HOME"])).update(
        first_seen_sent_at="2026-01-01T00:00:00+00:00", extra={"a": [1, 2]}
    )
    install_id = State(Path(env["DEVTEL_HOME"])).install_id()
    for level in ("detailed", "off", "base", "detailed"):
        assert main(["consent", level]) == 0
    data = State(Path(env["DEVTEL_HOME"])).read()
    assert data["install_id"] == install_id
    assert data["first_seen_sent_at"] == "2026-01-01T00:00:00+00:00" and data["extra"] == {"a": [1, 2]}
    assert data["consent"]["level"] == "detailed"


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from agent.state import State\n"
        "s = State(Path(sys.argv[1]))\n"
        "for i in range(20): s.update(**{f'k{sys.argv[2]}_{i}': i})\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path), str(n)], cwd=os.getcwd())
        for n in range(4)
    ]
    assert all(p.wait(60) == 0 for p in procs)
    data = State(tmp_path).read()
    assert all(f"k{n}_{i}" in data for n in range(4) for i in range(20))


def test_unusable_home_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StateError, match=r"DEVTEL_HOME .*a-file/home is not usable"):
        State(blocker / "home")


def test_cli_reports_unusable_home_with_exit_3(env: dict[str, str], monkeypatch, capsys, tmp_path) -> None:
    (tmp_path / "f").write_text("")
    monkeypatch.setenv("DEVTEL_HOME", str(tmp_path / "f" / "home"))
    assert main(["status"]) == 3
    assert "is not usable" in capsys.readouterr().err


def test_corrupt_state_file_is_moved_aside_once_and_consent_starts_off(tmp_path: Path, capsys) -> None:
    (tmp_path / "state.json").write_text('{"consent": {"level": "off"')  # cut short
    state = State(tmp_path)
    data = state.update(x=1)
    assert data["x"] == 1 and data["consent"]["level"] == "off"
    aside = list(tmp_path.glob("state.json.corrupt-*"))
    assert [p.read_text() for p in aside] == ['{"consent": {"level": "off"']
    state.read()
    assert capsys.readouterr().err.count("was damaged") == 1
