"""``devtel-agent hook SHELL`` runs in every new terminal: the console script answers it with
nothing heavy imported once the spool exists, and hands everything else to ``agent.cli``."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from agent import env as E
from agent.consent import Consent
from agent.shell import files
from agent.shell.hooks import SHELLS, hook_script
from agent.shell.recording import apply
from tests.agent.shell.conftest import spool_records

ROOT = Path(__file__).resolve().parents[3]
# What the console script runs, and the modules it has loaded after answering.
PROBE = (
    "import sys; before = set(sys.modules); sys.argv = ['devtel-agent', *sys.argv[1:]]\n"
    "from agent.entry import main\n"
    "status = main()\n"
    "print('\\nLOADED', ' '.join(sorted(set(sys.modules) - before)), file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def _hook(tmp_path: Path, *args: str, home: Path) -> tuple[str, set[str]]:
    env = {
        **os.environ,
        "DEVTEL_HOME": str(home),
        "DEVTEL_CONFIG": str(tmp_path / "agent.toml"),
        "DEVTEL_POLICY": str(tmp_path / "policy.toml"),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    loaded = done.stderr.rsplit("LOADED", 1)[1].split()
    return done.stdout, set(loaded)


def test_the_console_script_is_the_entry_module() -> None:
    with (ROOT / "pyproject.toml").open("rb") as project:
        assert tomllib.load(project)["project"]["scripts"]["devtel-agent"] == "agent.entry:main"


@pytest.mark.parametrize("shell", SHELLS)
def test_a_later_hook_loads_only_the_hook_modules(shell: str, tmp_path: Path) -> None:
    home = tmp_path / "devtel"
    first, loaded_first = _hook(tmp_path, "hook", shell, home=home)
    assert (home / files.SPOOL_FILE).exists()
    assert "agent.config" in loaded_first, "the first hook decides consent with the full agent"
    later, loaded = _hook(tmp_path, "hook", shell, home=home)
    assert later == first == (ROOT / "agent" / "shell" / "hooks" / f"devtel.{shell}").read_text()
    # collections.abc: a thin alias of _collections_abc, which every Python start loads.
    hook_modules = {"agent", "agent.entry", "agent.shell", "agent.shell.files", "agent.shell.hooks"}
    assert loaded <= {*hook_modules, "collections.abc"}, loaded


def test_other_commands_go_to_the_full_cli(tmp_path: Path) -> None:
    out, loaded = _hook(tmp_path, "consent", "show", home=tmp_path / "devtel")
    assert out.strip() == "base (from default)" and "agent.cli" in loaded


def test_with_recording_off_a_hook_makes_no_spool(tmp_path: Path) -> None:
    home = tmp_path / "devtel"
    home.mkdir()
    (home / files.OFF_FILE).touch()
    out, loaded = _hook(tmp_path, "hook", "bash", home=home)
    assert "__devtel_precmd" in out and "agent.cli" not in loaded
    assert sorted(p.name for p in home.iterdir()) == ["hook.bash", files.OFF_FILE]


def test_the_fast_path_reads_the_same_variable_and_default_as_the_agent() -> None:
    assert (files.HOME_VARIABLE, files.DEFAULT_HOME) == (E.DEVTEL_HOME, E.DEFAULT_HOME)
    for shell in SHELLS:
        text = (ROOT / "agent" / "shell" / "hooks" / f"devtel.{shell}").read_text()
        assert "DEVTEL_HOME" in text and "/.local/state/devtel" in text


# The rc lines of docs/shell.md that source the hook's copy, Python only when it is missing.
COPY = '"${DEVTEL_HOME:-$HOME/.local/state/devtel}/hook.'
SOURCE = {
    sh: f'. {COPY}{sh}" 2>/dev/null || eval "$(devtel-agent hook {sh})"' for sh in ("bash", "zsh")
} | {"fish": "source $DEVTEL_HOME/hook.fish 2>/dev/null; or devtel-agent hook fish | source"}


def test_a_shell_sourcing_the_hook_copy_records_without_python(shell, start, tmp_path):
    home = tmp_path / "devtel"
    _hook(tmp_path, "hook", shell, home=home)  # the first hook makes the spool and the copy
    copy = home / files.HOOK_COPY.format(shell=shell)
    assert copy.read_text() == hook_script(shell)
    session = start(shell, before=SOURCE[shell], installs=0, devtel_home=home)
    session.run("false")
    session.run("true")
    assert [(r.command, r.status) for r in spool_records(home)] == [("false", 1), ("true", 0)]


def test_the_agent_brings_a_stale_copy_up_to_date_and_leaves_absent_ones_absent(tmp_path):
    home = tmp_path / "devtel"
    files.make_spool(home)
    (home / "hook.zsh").write_text("# an older agent's hook\n")
    apply(home, Consent("base", "default"))
    assert (home / "hook.zsh").read_text() == hook_script("zsh")
    assert not (home / "hook.bash").exists() and not (home / "hook.fish").exists()
