"""The README's agent install lines, run as written in a fresh virtualenv: `make dist`, then the
wheel line. To stay fast and offline the fresh venv gets the agent's dependencies from this
checkout's .venv (a path entry) and pip runs with PIP_NO_DEPS; the test then checks every
requirement of the `agent` extra is met and the installed command works outside the checkout.
(`pipx install '.[agent]'` was run by hand: it takes ~30 s, most of it fetching dependencies.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

from tests.support.processes import ROOT

CHECK = """
import importlib.metadata as md, sys
from packaging.requirements import Requirement
missing = []
for text in md.requires("devtel") or []:
    req = Requirement(text)
    if req.marker is None or not req.marker.evaluate({"extra": "agent"}):
        continue
    try:
        version = md.version(req.name)
    except md.PackageNotFoundError:
        missing.append(str(req))
        continue
    if not req.specifier.contains(version, prereleases=True):
        missing.append(f"{req} (found {version})")
import agent
print(agent.__file__)
sys.exit(f"unmet: {missing}" if missing else 0)
"""


def _readme_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- agent-install -->", 1)[1].split("<!-- /agent-install -->", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("```")]


def test_the_readme_wheel_lines_install_a_working_agent_in_a_fresh_venv(tmp_path: Path) -> None:
    lines = _readme_lines()
    assert lines[1].startswith("make dist")
    in_venv = re.search(r"inside a virtualenv: (.+)$", lines[2])
    assert in_venv, lines[2]
    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(fresh), "platbase": str(fresh)}))
    (site / "zz-checkout-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")  # after its own
    checkout = tmp_path / "checkout"  # `make dist` writes dist/ beside the Makefile: use a copy
    ignore = shutil.ignore_patterns(".venv", "dist", "build", ".git", "*.egg-info", ".*cache", ".hypothesis")
    shutil.copytree(ROOT, checkout, ignore=ignore)
    (checkout / ".venv").symlink_to(fresh)  # what `make dist`'s bootstrap would have made...
    (fresh / ".devtel-installed").touch()  # ...and filled (its editable install is not needed here)
    env = {
        **os.environ,
        "PATH": f"{fresh / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PIP_NO_DEPS": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "VIRTUAL_ENV": str(fresh),
    }
    for line in ("make dist", in_venv.group(1)):
        done = subprocess.run(["bash", "-c", line], cwd=checkout, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{line}: {done.stderr[-2000:]}"
    assert list((checkout / "dist").glob("devtel-*-py3-none-any.whl"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    check = subprocess.run(
        [fresh / "bin" / "python", "-c", CHECK], cwd=outside, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().startswith(str(site))  # the installed copy, not the checkout
    agent_env = {**env, "DEVTEL_HOME": str(tmp_path / "home"), "DEVTEL_CONFIG": str(tmp_path / "a.toml")}
    hook = subprocess.run(
        [fresh / "bin" / "devtel-agent", "hook", "bash"],
        cwd=outside,
        env=agent_env,
        capture_output=True,
        text=True,
    )
    assert hook.returncode == 0 and "devtel shell hook for bash" in hook.stdout  # package data shipped
    dry = subprocess.run(
        [fresh / "bin" / "devtel-agent", "install", "--dry-run"],
        cwd=outside,
        env={**agent_env, "DEVTEL_SERVICE_DIR": str(tmp_path / "units")},
        capture_output=True,
        text=True,
    )
    assert f"ExecStart={fresh / 'bin' / 'devtel-agent'} run" in dry.stdout, dry.stderr
