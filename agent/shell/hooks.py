"""The shell hooks ``devtel-agent hook SHELL`` prints, shipped as package data.

Read with a plain ``open`` next to this file rather than ``importlib.resources`` (17 ms to
import) and with ``os`` alone: this runs in every new shell (``agent/entry.py``)."""

from __future__ import annotations

import os

SHELLS = ("bash", "zsh", "fish")
_HOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hooks")


def hook_script(shell: str) -> str:
    """The hook for ``shell``: eval it (bash, zsh) or source it (fish)."""
    if shell not in SHELLS:
        raise ValueError(f"{shell!r} is not one of {', '.join(SHELLS)}")
    with open(os.path.join(_HOOKS, f"devtel.{shell}"), encoding="utf-8") as script:
        return script.read()
