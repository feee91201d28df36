"""Figure for the hook's start-up: the time ``eval "$(devtel-agent hook SHELL)"`` (fish:
``devtel-agent hook fish | source``) adds to a new shell, in bash, zsh and fish, side by side in
one run with ``python3 -c pass`` (the least any Python command costs here), and the same for the
rc line that sources the hook's copy in DEVTEL_HOME (``hook.SHELL``, kept by every
``devtel-agent hook``) and runs Python only when it is missing. Goal: at most 30 ms added (median).

Run: ``python -m pytest tests/benchmarks/test_bench_shell_startup.py -s -m benchmark``.

``devtel-agent`` is this tree's ``agent`` package and console script in a fresh virtual
environment, as a user has them (the development install's editable-import hook costs every
Python start in ``.venv`` some 20 ms that an installed agent does not pay). Each shell reads only
the line under test (``--norc``/``-f``/``--no-config``); a variant's figure is the median over
interleaved rounds of the shell's wall time with the line minus the same shell's without it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from agent.shell.files import SPOOL_FILE

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 40
GOAL_MS = 30.0
SHELL_ARGV = {
    "bash": ["bash", "--norc", "--noprofile", "-c"],
    "zsh": ["zsh", "-f", "-c"],
    "fish": ["fish", "--no-config", "-c"],
}
HOOK_LINE = {
    "bash": 'eval "$(devtel-agent hook bash)"',
    "zsh": 'eval "$(devtel-agent hook zsh)"',
    "fish": "devtel-agent hook fish | source",
}
# The rc lines that source the hook's copy in DEVTEL_HOME (docs/shell.md), Python only when
# the copy is missing.
SOURCE_LINE = {
    "bash": '. ~/.local/state/devtel/hook.bash 2>/dev/null || eval "$(devtel-agent hook bash)"',
    "zsh": '. ~/.local/state/devtel/hook.zsh 2>/dev/null || eval "$(devtel-agent hook zsh)"',
    "fish": "source ~/.local/state/devtel/hook.fish 2>/dev/null; or devtel-agent hook fish | source",
}


@pytest.fixture(scope="module")
def installed_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh venv holding this tree's ``agent`` package and the console
    script as ``pyproject.toml`` declares it, byte-compiled, laid out as a wheel install leaves
    them (the venv here cannot build wheels offline). No dependencies: the hook's fast path
    needs none, which is the point."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    shutil.copytree(ROOT / "agent", Path(site) / "agent", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([python, "-m", "compileall", "-q", Path(site) / "agent"], check=True)
    with (ROOT / "pyproject.toml").open("rb") as project:
        target = tomllib.load(project)["project"]["scripts"]["devtel-agent"]
    module, function = target.split(":")
    script = venv / "bin" / "devtel-agent"
    script.write_text(
        f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n"
    )
    script.chmod(0o755)
    return venv / "bin"


def _wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def test_start_up_added_by_the_hook_line(installed_bin: Path, tmp_path: Path) -> None:
    home = tmp_path / ".local" / "state" / "devtel"  # the default, as the sourcing lines name it
    env = {
        "PATH": f"{installed_bin}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "DEVTEL_HOME": str(home),
        "DEVTEL_CONFIG": str(tmp_path / "agent.toml"),
        "DEVTEL_POLICY": str(tmp_path / "policy.toml"),
        "TERM": "dumb",
    }
    # The first hook makes the spool (the full agent, with its dependencies, decides consent);
    # every later shell, the case measured, finds it.
    first = [sys.executable, "-m", "agent", "hook", "bash"]
    out = subprocess.run(first, cwd=ROOT, env=env, capture_output=True)
    assert b"__devtel_precmd" in out.stdout and (home / SPOOL_FILE).exists(), out.stderr
    cases = {"python3 -c pass": ["python3", "-c", "pass"]}
    for shell, argv in SHELL_ARGV.items():
        cases[f"{shell} alone"] = [*argv, ":" if shell != "fish" else "true"]
        cases[f"{shell} + hook"] = [*argv, HOOK_LINE[shell]]
        cases[f"{shell} + copy"] = [*argv, SOURCE_LINE[shell]]
    for argv in cases.values():  # warm the page cache; fails loudly if a line is broken
        _wall(argv, env)
    for shell in SHELL_ARGV:  # the hook lines left the copies the sourcing lines read
        shipped = (ROOT / "agent" / "shell" / "hooks" / f"devtel.{shell}").read_text()
        assert (home / f"hook.{shell}").read_text() == shipped
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, argv in cases.items():
            samples[name].append(_wall(argv, env))
    median = {name: statistics.median(values) * 1e3 for name, values in samples.items()}
    python = median["python3 -c pass"]
    print(f"\n{ROUNDS} interleaved rounds, wall-clock medians; python3 -c pass: {python:.1f} ms")
    for shell in SHELL_ARGV:
        for case, label in (("hook", "eval of devtel-agent hook"), ("copy", "sourcing the copy")):
            added = median[f"{shell} + {case}"] - median[f"{shell} alone"]
            verdict = "within" if added <= GOAL_MS else "OVER"
            print(
                f"  {shell:<4} alone {median[f'{shell} alone']:6.1f} ms, {label:<25} "
                f"{median[f'{shell} + {case}']:6.1f} ms: added {added:5.1f} ms "
                f"({added / python:.2f}x python3 -c pass; {verdict} the {GOAL_MS:.0f} ms goal)"
            )
