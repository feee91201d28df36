"""Named errors of the activity collectors, so callers can tell bad input from a broken repository."""

from __future__ import annotations


class CollectorError(Exception):
    """Base class: anything the collectors refuse or cannot do."""


class InvalidSettingsError(CollectorError, ValueError):
    """A setting has a value the collectors cannot use; the message names the setting and the value."""


class RootNotFoundError(CollectorError):
    """A configured discovery root does not exist or is not a directory."""

    def __init__(self, root: str) -> None:
        super().__init__(f"repository root {root!r} does not exist or is not a directory")
        self.root = root


class RepositoryUnreadableError(CollectorError):
    """A path given as a repository is not a git working tree git can read."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read git repository {path!r}: {reason}")
        self.path = path
        self.reason = reason


class InvalidArgumentError(CollectorError, ValueError):
    """An argument of ``collect_day``/``backfill`` is unusable; the message names it and its value."""


class StateFileError(CollectorError):
    """The collectors' state file cannot be used (written by a newer version)."""
