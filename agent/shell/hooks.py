"""The shell hooks ``devtel-agent hook SHELL`` prints, shipped as package data."""

from __future__ import annotations

from importlib import resources
from typing import Final

SHELLS: Final = ("bash", "zsh", "fish")


def hook_script(shell: str) -> str:
    """The hook for ``shell``: eval it (bash, zsh) or source it (fish)."""
    if shell not in SHELLS:
        raise ValueError(f"{shell!r} is not one of {', '.join(SHELLS)}")
    return resources.files("agent.shell").joinpath("hooks", f"devtel.{shell}").read_text(encoding="utf-8")
