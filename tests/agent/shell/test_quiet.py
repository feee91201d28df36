"""Quiet and safe, in real bash, zsh and fish sessions on a pty: a full disk costs no message
and no exit status; consent ``off`` (the user, an opt-out variable, the policy) stops the hooks
at the next prompt and deletes what they recorded; commands typed with a leading space, fish's
``exit`` and ``[shell] ignore`` patterns never reach the command store; the spool is capped."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.pipeline import Agent
from agent.shell import files
from agent.shell.classify import DEFAULT_RULES
from agent.shell.ingest import ingest
from agent.shell.store import CommandStore
from tests.agent.shell.conftest import spool_records
from tests.support.ci import unavailable

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[3]
STATUS = {"bash": "echo st=$?", "zsh": "echo st=$?", "fish": "echo st=$status"}
EXPORT = {"bash": "export {}={}", "zsh": "export {}={}", "fish": "set -gx {} {}"}


def _agent_env(tmp_path: Path, devtel_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "DEVTEL_DISABLE_TELEMETRY")}
    return {
        **env,
        "DEVTEL_HOME": str(devtel_home),
        "DEVTEL_CONFIG": str(tmp_path / "agent.toml"),
        "DEVTEL_POLICY": str(tmp_path / "policy.toml"),
        **extra,
    }


def _devtel_agent(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def full_disk(tmp_path: Path) -> Path:
    """DEVTEL_HOME on a 64 KiB tmpfs, filled up, its spool in place."""
    mount = tmp_path / "full"
    mount.mkdir()
    mount_tmpfs = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)]
    done = subprocess.run(mount_tmpfs, capture_output=True)
    if done.returncode:
        unavailable(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        files.make_spool(mount)
        filler = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            with pytest.raises(OSError, match="No space left"):
                while True:
                    os.write(filler, b"\0" * 512)
        finally:
            os.close(filler)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_is_silent_and_keeps_the_status(shell, start, full_disk):
    session = start(shell, devtel_home=full_disk)
    printed = [session.run("false"), session.run("true"), session.run(f"false; {STATUS[shell]}")]
    printed += [session.run("true") for _ in range(3)]
    assert "st=1" in printed[2]
    noise = [p for p in printed if "space" in p.lower() or "write" in p.lower()]
    # fish reports a builtin's failed write on its own stderr whatever the redirection: its hook
    # then stops writing until the spool changes, so one message at most.
    assert len(noise) <= (1 if shell == "fish" else 0), noise
    assert (full_disk / files.SPOOL_FILE).stat().st_size == 0


def test_consent_off_mid_session_stops_the_hook_at_the_next_prompt_and_deletes_the_spool(
    shell, start, devtel_home, tmp_path
):
    env = _agent_env(tmp_path, devtel_home)
    session = start(shell)
    session.run("echo recorded-before")
    assert [r.command for r in spool_records(devtel_home)] == ["echo recorded-before"]
    assert "-> off" in _devtel_agent(env, "consent", "off")
    assert not (devtel_home / files.SPOOL_FILE).exists(), "opting out keeps the raw command lines"
    session.run("echo while-off")
    session.run("echo while-off-again")
    assert sorted(p.name for p in devtel_home.iterdir() if p.name.startswith("shell.")) == [files.OFF_FILE]
    # A new shell's hook makes no spool while consent is off.
    assert "__devtel" in _devtel_agent(env, "hook", shell)
    assert not (devtel_home / files.SPOOL_FILE).exists()
    _devtel_agent(env, "collect")  # nothing recorded before, nothing recorded since
    store = CommandStore(devtel_home)
    assert store.between(0, 2 * time.time()) == []
    store.close()
    assert "-> base" in _devtel_agent(env, "consent", "base")
    session.run("echo recorded-again")
    assert [r.command for r in spool_records(devtel_home)] == ["echo recorded-again"]


def test_an_opt_out_variable_set_in_the_shell_stops_the_hook(shell, start, devtel_home):
    session = start(shell)
    session.run("echo one")
    session.run(EXPORT[shell].format("DO_NOT_TRACK", "1"))
    session.run("echo hidden")
    session.run(EXPORT[shell].format("DO_NOT_TRACK", "0"))  # only 1/true/yes/on opt out
    session.run(EXPORT[shell].format("OTEL_SDK_DISABLED", "TRUE"))
    session.run("echo hidden too")
    session.run(EXPORT[shell].format("OTEL_SDK_DISABLED", "false"))
    session.run("echo two")
    commands = [r.command for r in spool_records(devtel_home)]
    assert [c for c in commands if c.startswith("echo")] == ["echo one", "echo two"], commands


def test_the_policy_turning_consent_off_deletes_the_spool_and_nothing_is_ingested(
    shell, start, devtel_home, tmp_path
):
    session = start(shell)
    session.run("pytest --version")
    (tmp_path / "policy.toml").write_text('[consent]\nmax = "off"\n')
    env = _agent_env(tmp_path, devtel_home)
    agent = Agent(env)
    agent.day(dt.date.today())  # what every `run` round and `collect` does
    assert not (devtel_home / files.SPOOL_FILE).exists()
    session.run("pytest --version")
    assert sorted(p.name for p in devtel_home.iterdir() if p.name.startswith("shell.")) == [files.OFF_FILE]
    store = CommandStore(devtel_home)
    assert store.between(0, 2 * time.time()) == []
    store.close()


@pytest.mark.parametrize("name", ["zsh", "fish"])
def test_a_command_typed_with_a_leading_space_is_not_recorded(name, start, devtel_home):
    session = start(name)
    session.run(" echo secret")
    session.run("echo shown")
    assert [r.command for r in spool_records(devtel_home)] == ["echo shown"]


def test_fish_exit_is_not_recorded(start, devtel_home, tmp_path):
    session = start("fish")
    session.run("true")
    assert session.close() == 0
    assert [r.command for r in spool_records(devtel_home)] == ["true"]


def test_an_alias_counts_as_what_it_runs_in_every_shell(shell, start, devtel_home):
    define = {"fish": "alias t=pytest", "bash": "alias t=pytest", "zsh": "alias t=pytest"}[shell]
    session = start(shell, after=define)
    session.run("t --version")
    store = CommandStore(devtel_home)
    ingest(devtel_home, store, DEFAULT_RULES, grace=0)
    [command] = store.between(0, 2 * time.time())
    store.close()
    assert (command.category, command.tool) == ("test", "pytest")


def test_ignore_patterns_drop_commands_before_the_store(shell, start, devtel_home):
    session = start(shell)
    for line in ("pass show bank", "op read secret", "pytest --version", "passwd --help"):
        session.run(line)
    store = CommandStore(devtel_home)
    read = ingest(devtel_home, store, DEFAULT_RULES, grace=0, ignore=["pass *", "op *"])
    stored = store.between(0, 2 * time.time())
    store.close()
    assert read.records == 4
    assert [(c.category, c.tool) for c in stored] == [("test", "pytest"), ("other", "")]


def test_ignore_must_be_a_list_of_strings(tmp_path, agent_env, monkeypatch):
    monkeypatch.setenv("DEVTEL_POLICY", str(tmp_path / "policy.toml"))
    (tmp_path / "agent.toml").write_text("[shell]\nignore = [\"pass *\", 3]\n")
    with pytest.raises(Exception, match=r"ignore.*list of strings"):
        Agent(os.environ)


def test_a_spool_no_agent_reads_is_capped_oldest_lines_first(tmp_path):
    home = tmp_path / "devtel"
    files.make_spool(home)
    lines = [f"line {n:06d}\n".encode() for n in range(20_000)]
    (home / files.SPOOL_FILE).write_bytes(b"".join(lines))
    limit = 100_000
    dropped = files.trim_spool(home, limit)
    kept = (home / files.SPOOL_FILE).read_bytes()
    assert len(kept) <= limit // 2 and dropped == 20_000 * 12 - len(kept)
    assert kept.splitlines(keepends=True) == lines[-len(kept) // 12 :]
    assert (home / files.SPOOL_FILE).stat().st_mode & 0o777 == 0o600
    assert files.trim_spool(home, limit) == 0


def test_a_new_shells_hook_trims_an_oversized_spool(tmp_path):
    home = tmp_path / "devtel"
    files.make_spool(home)
    line = b"1\tbash\t1\t1.0\t2.0\t0\t/\ttrue\n"
    (home / files.SPOOL_FILE).write_bytes(line * (files.MAX_SPOOL_BYTES // len(line) + 10))
    env = _agent_env(tmp_path, home)
    code = "import sys; sys.argv = ['devtel-agent', 'hook', 'bash']; from agent.entry import main; main()"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    size = (home / files.SPOOL_FILE).stat().st_size
    assert size <= files.MAX_SPOOL_BYTES // 2 and size % len(line) == 0


@pytest.mark.parametrize("histcontrol", ["ignorespace", "ignoreboth"])
def test_bash_leaves_out_what_histcontrol_keeps_out_of_history(histcontrol, start, devtel_home):
    session = start("bash", before=f"HISTCONTROL={histcontrol}")
    session.run(" echo first-secret")
    session.run("echo shown")
    session.run("echo shown")  # a duplicate (ignoreboth keeps it out of history): still a command
    session.run("  echo secret")
    session.run("")
    session.run("true")
    commands = [r.command for r in spool_records(devtel_home)]
    assert commands == ["echo shown", "echo shown", "true"], commands
