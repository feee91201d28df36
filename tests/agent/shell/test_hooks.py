"""The hooks in real interactive bash, zsh and fish sessions on a pty: what each command leaves
in the spool, and that everything else about the shell keeps working."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.shell.classify import DEFAULT_RULES
from agent.shell.hooks import SHELLS, hook_script
from agent.shell.ingest import ingest
from agent.shell.spool import REOPEN_S, ROTATED_FILE, SPOOL_FILE, parse_line
from agent.shell.store import CommandStore
from tests.agent.shell.conftest import spool_records
from tests.agent.shell.ptyshell import write_rc

pytestmark = pytest.mark.timeout(120)

SUBSHELL = {"bash": "(cd / && exit 3)", "zsh": "(cd / && exit 3)", "fish": "fish --no-config -c 'exit 3'"}
STATUS = {"bash": "echo st=$?", "zsh": "echo st=$?", "fish": "echo st=$status"}


def test_each_command_is_one_record_with_duration_exit_code_and_directory(
    shell, start, devtel_home, tmp_path
):
    (tmp_path / "home" / "sub").mkdir(parents=True)
    session = start(shell)
    session.run("sleep 0.3")
    session.run("false")
    session.run("true && false")
    session.run("sleep 0.2 | cat")
    session.run(SUBSHELL[shell])
    session.interrupt_after("sleep 5", 0.5)
    session.run("cd sub")
    session.run("true")
    records = spool_records(devtel_home)
    assert [r.status for r in records] == [0, 1, 1, 0, 3, 130, 0, 0]
    assert {(r.shell, r.shell_pid) for r in records} == {(shell, session.pid)}
    sleep, _, _, pipeline, _, interrupted, _, last = records
    assert 0.3 <= sleep.duration < 3
    assert 0.2 <= pipeline.duration < 3 and "sleep" in pipeline.command and "cat" in pipeline.command
    assert 0.4 <= interrupted.duration < 4.5
    assert records[2].command.replace(";", " &&") == "true && false"
    assert Path(last.directory) == tmp_path / "home" / "sub"
    assert all(Path(r.directory) == tmp_path / "home" for r in records[:-2])
    ends = [r.end for r in records]
    assert ends == sorted(ends)


@pytest.mark.parametrize(
    "prompt_command",
    [
        "PROMPT_COMMAND=('pc_one=$((pc_one+1))' 'pc_two=$((pc_two+1))')",
        "PROMPT_COMMAND='pc_one=$((pc_one+1)); pc_two=$((pc_two+1))'",
    ],
    ids=["array", "string"],
)
def test_bash_keeps_set_u_prompt_command_and_debug_trap(prompt_command, start, devtel_home):
    before = f"set -u\npc_one=0 pc_two=0 traps=0\n{prompt_command}\ntrap 'traps=$((traps+1))' DEBUG"
    session = start("bash", before=before)
    for _ in range(3):
        session.run("true")
    shown = session.run('echo "pc=$pc_one,$pc_two traps=$traps"')
    pc_one, pc_two, traps = map(int, re.search(r"pc=(\d+),(\d+) traps=(\d+)", shown).groups())
    assert pc_one == pc_two >= 4, "the other PROMPT_COMMAND entries stopped running"
    assert traps >= 4, "the existing DEBUG trap stopped running"
    assert "unbound variable" not in session.output
    assert [r.command for r in spool_records(devtel_home)] == ["true"] * 3 + [
        'echo "pc=$pc_one,$pc_two traps=$traps"'
    ]


def test_zsh_keeps_nounset_and_the_status_beside_another_precmd(start, devtel_home):
    before = (
        "setopt nounset noclobber\nautoload -Uz add-zsh-hook\nothers() { false }\nadd-zsh-hook precmd others"
    )
    session = start("zsh", before=before)
    session.run("(exit 7)")
    assert "st=7" in session.run("(exit 7); echo st=$?")
    assert [r.status for r in spool_records(devtel_home)] == [7, 0]
    assert "parameter not set" not in session.output


def test_a_hook_installed_twice_records_once(shell, start, devtel_home):
    session = start(shell, installs=2)
    session.run("false")
    again = {"bash": f'eval "$(cat {devtel_home.parent}/home/hook.bash)"'}.get(shell)
    if again:  # re-evaluated at the prompt too: that line is recorded, not the hook's own code
        session.run(again)
    session.run("true")
    assert [r.command for r in spool_records(devtel_home)] == ["false", *([again] if again else []), "true"]


def _no_devtel_noise(output: str) -> None:
    for noise in ("devtel", "shell.spool", "No such file", "Not a directory", "Permission denied"):
        assert noise not in output


def test_missing_devtel_home_is_silent_and_the_status_is_kept(shell, start, tmp_path):
    missing = tmp_path / "not-there"
    session = start(shell, devtel_home=missing)
    session.run("false")
    assert "st=1" in session.run(f"false; {STATUS[shell]}")
    _no_devtel_noise(session.output)
    assert not missing.exists()


def test_devtel_home_that_cannot_take_a_file_is_silent(shell, start, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    session = start(shell, devtel_home=blocker)
    session.run("false")
    session.run("true")
    _no_devtel_noise(session.output)
    assert blocker.read_text() == "not a directory\n"


def test_read_only_devtel_home_is_silent(shell, start, tmp_path):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o500)
    # Root writes through modes; an immutable directory stops root too (CI runs as root).
    immutable = os.geteuid() == 0
    if immutable and subprocess.run(["chattr", "+i", str(read_only)], capture_output=True).returncode:
        pytest.skip("running as root on a file system without chattr +i: no directory is read-only")
    try:
        session = start(shell, devtel_home=read_only)
        session.run("false")
        _no_devtel_noise(session.output)
        assert list(read_only.iterdir()) == []
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(read_only)], check=True)


def test_bash_prompt_command_completion_and_empty_lines_are_not_recorded(start, devtel_home):
    before = (
        "PROMPT_COMMAND='pc_marker=1'\n"
        "_devtel_test_complete() { completion_marker=1; COMPREPLY=(completed-word); }\n"
        "complete -F _devtel_test_complete mycmd"
    )
    session = start("bash", before=before)
    session.send("mycmd \t")
    session.send("\x15")  # Ctrl-U: drop the line; completion ran, nothing was executed
    session.run("")
    session.run("")
    session.run("true")
    assert [r.command for r in spool_records(devtel_home)] == ["true"]


def test_fish_completion_is_not_recorded(start, devtel_home):
    session = start("fish", before="complete -c mycmd -f -a '(string join \\n completed-word)'")
    session.send("mycmd \t")
    session.send("\x15")
    session.run("")
    session.run("true")
    assert [r.command for r in spool_records(devtel_home)] == ["true"]


def test_nested_shells_each_record_their_own_commands(shell, start, devtel_home, tmp_path):
    session = start(shell)
    argv = write_rc(shell, tmp_path / "home")  # the same start-up file, read again by the child
    session.run(" ".join(argv))
    session.run("false")
    session.run("exit")
    session.run("true")
    commands = [r.command for r in spool_records(devtel_home)]
    assert commands == ["false", " ".join(argv), "true"], commands


def _process_starts_between_markers(log: Path) -> list[str]:
    """Process-creating calls the shell itself made between the two marker commands."""
    lines = log.read_text().splitlines()
    shell_pid = lines[0].split()[0]  # strace's first line: the shell's own execve
    begin = next(i for i, line in enumerate(lines) if "devtel-marker-begin" in line)
    end = next(i for i, line in enumerate(lines) if "devtel-marker-end" in line)
    pattern = re.compile(rf"^{shell_pid}\s+(clone|clone3|fork|vfork|execve)\(")
    # fish keeps a pool of threads (autosuggestions, I/O): a thread is not a process.
    return [line for line in lines[begin:end] if pattern.match(line) and "CLONE_THREAD" not in line]


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_no_process_is_started_per_command(shell, start, devtel_home, tmp_path):
    log = tmp_path / "strace.log"
    # `test -e` is a builtin everywhere; its stat call marks the stretch in the trace.
    calls = "trace=process,newfstatat,statx,stat,lstat,access,faccessat,faccessat2"
    session = start(shell, wrap=("strace", "-f", "-o", str(log), "-e", calls))
    session.run(f"test -e {tmp_path}/devtel-marker-begin")
    for _ in range(30):
        session.run({"bash": ":", "zsh": ":", "fish": "true"}[shell])
    session.run(f"test -e {tmp_path}/devtel-marker-end")
    session.close()
    assert _process_starts_between_markers(log) == []
    assert len(spool_records(devtel_home)) >= 32


@pytest.mark.parametrize("name", SHELLS)
def test_devtel_agent_hook_prints_a_script_the_shell_accepts_and_makes_the_spool(
    name, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("DEVTEL_HOME", str(tmp_path / "state" / "devtel"))
    assert main(["hook", name]) == 0
    spool = tmp_path / "state" / "devtel" / SPOOL_FILE
    assert spool.read_bytes() == b"" and spool.stat().st_mode & 0o777 == 0o600
    printed = capsys.readouterr().out
    assert printed == hook_script(name)
    script = tmp_path / f"hook.{name}"
    script.write_text(printed)
    check = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "--no-execute"]}[name]
    assert subprocess.run([*check, str(script)], capture_output=True, text=True).returncode == 0
    assert SPOOL_FILE in printed


def _spool_descriptors(pid: int) -> list[int]:
    """The inodes of the spool files the process holds open (a rotated one shows in /proc under
    its old name, marked deleted, so the inode is what tells them apart)."""
    inodes = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if SPOOL_FILE in os.readlink(fd):
                inodes.append(fd.stat().st_ino)
        except OSError:  # closed meanwhile
            continue
    return inodes


def test_a_shell_holding_the_spool_open_loses_and_repeats_nothing_across_rotation(shell, start, devtel_home):
    store = CommandStore(devtel_home)
    session = start(shell)
    opened = time.time()  # bash and zsh open the spool to write the first command's line
    session.run("true")
    assert ingest(devtel_home, store, DEFAULT_RULES).records == 1  # and rotates the spool
    session.run("false")  # within REOPEN_S of the open: bash and zsh still write the rotated file
    rotated = devtel_home / ROTATED_FILE
    if shell != "fish":  # fish opens the spool by name for every command
        assert [r.status for r in map(parse_line, rotated.read_bytes().splitlines())] == [0, 1]
        assert _spool_descriptors(session.pid) == [rotated.stat().st_ino]
    assert ingest(devtel_home, store, DEFAULT_RULES).records == 1
    assert rotated.exists(), "deleted while a shell may still write it"
    time.sleep(max(0.0, opened + REOPEN_S + 0.5 - time.time()))
    # Exits 3, at the first prompt past REOPEN_S: the hook opens the live spool again.
    session.run(SUBSHELL[shell])
    opened_again = (devtel_home / SPOOL_FILE).stat().st_ino
    if shell != "fish":
        assert _spool_descriptors(session.pid) == [opened_again]
    ingest(devtel_home, store, DEFAULT_RULES, grace=0)  # no shell writes shell.spool.1 now: finished
    assert not rotated.exists() or rotated.stat().st_ino == opened_again
    session.run("true")
    ingest(devtel_home, store, DEFAULT_RULES, grace=0)
    session.close()
    ingest(devtel_home, store, DEFAULT_RULES, grace=0)
    ingest(devtel_home, store, DEFAULT_RULES, grace=0)
    commands = store.between(0, 2 * time.time())
    store.close()
    codes = [c.exit_code for c in commands]
    assert codes == [0, 1, 3, 0], "a record lost or read twice"
    assert not rotated.exists()


@pytest.mark.parametrize("name", ["bash", "zsh"])
def test_commands_do_not_inherit_the_spool_zsh_or_only_write_only_bash(name, start, devtel_home):
    session = start(name)
    session.run("true")  # the first command's line opens the spool
    assert len(_spool_descriptors(session.pid)) == 1  # the shell holds it
    listing = session.run("ls -l /proc/self/fd/")  # ls is the child here
    if name == "zsh":  # sysopen -o cloexec
        assert SPOOL_FILE not in listing
    else:  # bash has no builtin for close-on-exec: a child inherits a write-only descriptor
        inherited = [line for line in listing.splitlines() if SPOOL_FILE in line]
        assert len(inherited) == 1 and inherited[0].startswith("l-wx")
