"""What the collectors need to know, as plain data with one validation step.

The agent core builds a ``CollectorSettings`` from its configuration; defaults live here
and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from agent.collectors.errors import InvalidSettingsError

DEFAULT_DEPTH = 4
DEFAULT_GAP_MINUTES = 15
# Bounds the cost of one file-activity scan on a huge working tree.
DEFAULT_MAX_FILES_PER_REPOSITORY = 20_000
STATE_FILE_NAME = "activity.db"
DEVTEL_HOME_ENV = "DEVTEL_HOME"
DEFAULT_DEVTEL_HOME = Path("~/.local/state/devtel")

# Directory names never descended into, by discovery or by the file scan: caches, virtual
# environments, vendored dependencies and build output hold no repositories of the developer's
# own and can be huge. Hidden directories (".cache", ".venv", ".git", ...) are skipped too.
DEFAULT_SKIP_DIRECTORIES: frozenset[str] = frozenset(
    {
        "node_modules",
        "bower_components",
        "vendor",
        "venv",
        "env",
        "site-packages",
        "__pycache__",
        "target",
        "build",
        "dist",
        "Library",
        "Caches",
        "DerivedData",
        "Pods",
        "pkg",
    }
)


def _jetbrains(directory: str) -> str:
    # An IDE is found by its install directory or app bundle in the executable's path
    # (".../pycharm-2025.1/bin/pycharm", "/Applications/PyCharm.app/..."), because its
    # process is often just "java" from the bundled runtime.
    return rf"(?i)(^|/){directory}[^/]*(/|$)"


# Tool name -> regular expression searched in the process's executable path (or its name
# when the path is unreadable). Extend or override through the agent configuration.
DEFAULT_TOOL_PATTERNS: Mapping[str, str] = MappingProxyType(
    {
        "vscode": r"(^|/)(code|code-insiders|codium|vscodium)$|Visual Studio Code[^/]*\.app/",
        "intellij": _jetbrains("(idea|intellij)"),
        "pycharm": _jetbrains("pycharm"),
        "goland": _jetbrains("goland"),
        "webstorm": _jetbrains("webstorm"),
        "clion": _jetbrains("clion"),
        "rider": _jetbrains("rider"),
        "rustrover": _jetbrains("rustrover"),
        "android-studio": _jetbrains("(android-studio|android studio)"),
        "vim": r"(^|/)g?vim$",
        "neovim": r"(^|/)nvim$",
        "emacs": r"(^|/)emacs(-[0-9.]+)?$|(^|/)Emacs$",
        "xcode": r"(^|/)Xcode$",
        "docker": r"(^|/)(docker|dockerd|com\.docker\.backend)$",
        "node": r"(^|/)(node|npm|npx|yarn|pnpm)$",
        "python": r"(^|/)python([0-9](\.[0-9]+)?)?$",
        "go": r"(^|/)(go|gopls)$",
        "rust": r"(^|/)(cargo|rustc|rust-analyzer)$",
        # A JetBrains IDE runs on its bundled Java ("/jbr/"); that is the IDE, not java work.
        "java": r"^(?!.*/jbr/).*(^|/)java$",
    }
)


def default_state_path() -> Path:
    home = os.environ.get(DEVTEL_HOME_ENV) or str(DEFAULT_DEVTEL_HOME)
    return Path(home).expanduser() / STATE_FILE_NAME


@dataclass(frozen=True, slots=True)
class CollectorSettings:
    """Inputs of every collection.

    ``author_emails``: the developer's git emails (case-insensitive); only commits authored
    with one of them count. ``hash_commit_id`` turns a commit id into the keyed hash that
    leaves the machine. ``roots`` are searched ``depth`` levels deep for repositories;
    ``extra_repositories`` are added as they are. ``allow_paths`` lets repository paths into
    the report. ``timezone`` None means the machine's zone. ``state_path`` None means
    ``$DEVTEL_HOME/activity.db``.
    """

    author_emails: tuple[str, ...]
    hash_commit_id: Callable[[str], str]
    roots: tuple[Path, ...] = field(default_factory=lambda: (Path.home(),))
    depth: int = DEFAULT_DEPTH
    extra_repositories: tuple[Path, ...] = ()
    allow_paths: bool = False
    tool_patterns: Mapping[str, str] = field(default_factory=lambda: DEFAULT_TOOL_PATTERNS)
    gap_minutes: int = DEFAULT_GAP_MINUTES
    timezone: dt.tzinfo | None = None
    state_path: Path | None = None
    skip_directories: frozenset[str] = DEFAULT_SKIP_DIRECTORIES
    max_files_per_repository: int = DEFAULT_MAX_FILES_PER_REPOSITORY

    def __post_init__(self) -> None:
        emails = tuple(self.author_emails)
        for email in emails:
            if not isinstance(email, str) or "@" not in email:
                raise InvalidSettingsError(f"author_emails: {email!r} is not an email address")
        object.__setattr__(self, "author_emails", tuple(sorted({e.strip().lower() for e in emails})))
        if not callable(self.hash_commit_id):
            raise InvalidSettingsError(f"hash_commit_id: {self.hash_commit_id!r} is not callable")
        object.__setattr__(self, "roots", tuple(Path(r).expanduser() for r in self.roots))
        object.__setattr__(
            self, "extra_repositories", tuple(Path(r).expanduser() for r in self.extra_repositories)
        )
        _require_int("depth", self.depth, minimum=0)
        _require_int("gap_minutes", self.gap_minutes, minimum=1)
        _require_int("max_files_per_repository", self.max_files_per_repository, minimum=1)
        for tool, pattern in self.tool_patterns.items():
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                raise InvalidSettingsError(f"tool_patterns[{tool!r}]: {pattern!r} is not a regex") from exc

    def resolved_state_path(self) -> Path:
        return self.state_path if self.state_path is not None else default_state_path()


def _require_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidSettingsError(f"{name}: {value!r} is not an integer >= {minimum}")
