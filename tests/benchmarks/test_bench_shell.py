"""Figures for the shell hook: the time it adds to every interactive command, in bash and zsh,
side by side in one run with (a) the simplest builtin-only hook (one printf append of start,
end, status, directory and command) and (b) a hook that forks one small binary per command.
devtel's hook keeps the spool open and, at the first prompt 10 s or more after its last check,
checks that it still holds the live spool: commands typed back to back, as here, never reach
that check, so "devtel, spaced" is the same hook with the check made at every prompt, as for
commands typed 10 s or more apart. For reference only, "held-fd floor" is the floor of any hook
that writes a line per command: one write per prompt to a file kept open, from one prompt
function, capturing neither the start time nor the command (it records less than (a) and
devtel's hook, so it is no baseline to compare against).

Run: ``python -m pytest tests/benchmarks/test_bench_shell.py -s -m benchmark``.

Each shell is a real interactive shell (``-i``) reading a script of ``:`` commands, so the
prompt hooks, the DEBUG trap and PS0 run exactly as at a terminal, without the terminal's echo
in the way. A variant's cost per command is the slope between a short and a long script (start-up
cancels out) minus the slope without any hook; the median over interleaved rounds is reported,
as CPU time (user + system, from the shell's rusage: what the hook makes the machine do, and
steadier on a shared machine) and as wall time. Absolute times drift on shared machines, so the
figures to compare are the ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

import pytest

from agent.shell.hooks import hook_script
from agent.shell.spool import ensure_spool

pytestmark = pytest.mark.benchmark

SHORT, LONG = 200, 2200  # commands per script; the cost is taken over the 2,000 between them
ROUNDS = 9

SIMPLE = {
    "bash": (
        "trap '__s=${__s:-$EPOCHREALTIME} __c=${__c:-$BASH_COMMAND}' DEBUG\n"
        'PROMPT_COMMAND=\'printf "%s\\t%s\\t%s\\t%s\\t%s\\n" "$__s" "$EPOCHREALTIME" "$?" "$PWD" "$__c"'
        ' >>"$DEVTEL_HOME/simple.spool"; __s= __c=\'\n'
    ),
    "zsh": (
        "zmodload zsh/datetime\n"
        "preexec() { __s=$EPOCHREALTIME __c=$1 }\n"
        'precmd() { printf \'%s\\t%s\\t%s\\t%s\\t%s\\n\' "$__s" "$EPOCHREALTIME" "$?" "$PWD" "$__c"'
        ' >>|"$DEVTEL_HOME/simple.spool" }\n'
    ),
}
FLOOR = {
    "bash": (
        'exec {__f}>>"$DEVTEL_HOME/floor.spool"\n'
        '__floor() { printf \'%s\\t%s\\t%s\\t%s\\n\' "$EPOCHREALTIME" "$?" "$PWD" : >&$__f; }\n'
        "PROMPT_COMMAND=__floor\n"
    ),
    "zsh": (
        "zmodload zsh/datetime zsh/system\n"
        "sysopen -a -o creat,cloexec -u __f $DEVTEL_HOME/floor.spool\n"
        "precmd() { syswrite -o $__f \"$EPOCHREALTIME\t$?\t$PWD\t:\"$'\\n' }\n"
    ),
}
FORK = {
    "bash": 'PROMPT_COMMAND=\'/bin/true "$?" "$PWD"\'\n',
    "zsh": 'precmd() { /bin/true "$?" "$PWD" }\n',
}


TIME_GATE = "(( EPOCHSECONDS < __devtel_reopen ))"


def _variants(shell: str) -> dict[str, str]:
    hook = hook_script(shell)
    assert hook.count(TIME_GATE) == 1
    return {
        "none": "",
        "simplest builtin": SIMPLE[shell],
        "devtel": hook,
        "devtel, spaced": hook.replace(TIME_GATE, "false"),
        "fork per command": FORK[shell],
        "held-fd floor": FLOOR[shell],
    }


def _argv(shell: str, rc: Path) -> list[str]:
    if shell == "bash":
        return ["bash", "--noprofile", "--rcfile", str(rc / ".bashrc"), "-i"]
    return ["zsh", "-i"]


def _time_once(shell: str, rc: Path, script: Path, home: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one shell reading ``script``."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(rc),
        "ZDOTDIR": str(rc),
        "DEVTEL_HOME": str(home),
        "TERM": "dumb",
    }
    with script.open("rb") as stdin:
        started = time.perf_counter()
        process = subprocess.Popen(
            _argv(shell, rc), stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        _, _, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = 0  # reaped above
    return usage.ru_utime + usage.ru_stime, wall


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_added_time_per_command(shell: str, tmp_path: Path) -> None:
    scripts = {}
    for count in (SHORT, LONG):
        scripts[count] = tmp_path / f"commands-{count}"
        scripts[count].write_text(":\n" * count + "exit\n")
    variants = _variants(shell)
    rcs, homes = {}, {}
    for name, text in variants.items():
        rcs[name] = tmp_path / name.replace(" ", "-")
        homes[name] = rcs[name] / "devtel"
        ensure_spool(homes[name])  # as `devtel-agent hook` leaves it
        (rcs[name] / (".bashrc" if shell == "bash" else ".zshrc")).write_text(text)
    slopes: dict[str, dict[str, list[float]]] = {
        clock: {n: [] for n in variants} for clock in ("cpu", "wall")
    }
    for _ in range(ROUNDS):
        for name in variants:  # interleaved, so drift on the machine hits every variant alike
            short = _time_once(shell, rcs[name], scripts[SHORT], homes[name])
            long = _time_once(shell, rcs[name], scripts[LONG], homes[name])
            for index, clock in enumerate(("cpu", "wall")):
                slopes[clock][name].append((long[index] - short[index]) / (LONG - SHORT))

    for name in ("devtel", "devtel, spaced"):
        spool = homes[name] / "shell.spool"
        assert len(spool.read_bytes().splitlines()) == ROUNDS * (SHORT + LONG), f"{name} missed commands"
    floor = homes["held-fd floor"] / "floor.spool"
    assert len(floor.read_bytes().splitlines()) >= ROUNDS * (SHORT + LONG), "the floor hook did not write"

    version = subprocess.run([shell, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"\n{version}; {ROUNDS} rounds x {LONG - SHORT} commands per variant; medians")
    for clock, by_variant in slopes.items():
        base = statistics.median(by_variant["none"])
        added = {n: (statistics.median(v) - base) * 1e6 for n, v in by_variant.items() if n != "none"}
        print(f"  {clock} time per command without a hook: {base * 1e6:7.1f} us; added by")
        for name, value in added.items():
            print(f"    {name:<17} {value:8.1f} us")
        fork, simplest = added["fork per command"], added["simplest builtin"]
        for name in ("devtel", "devtel, spaced"):
            print(
                f"    {name}: / simplest builtin {added[name] / simplest:.2f}x; "
                f"fork per command / it {fork / added[name]:.0f}x"
            )
        print(f"    fork per command / held-fd floor {fork / added['held-fd floor']:.0f}x")
