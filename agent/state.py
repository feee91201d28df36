"""The install's small persistent state (``state.json`` in DEVTEL_HOME): install id, consent
choice, base-telemetry bookkeeping.

Every write re-reads the file under a lock, merges the change in and replaces the file
atomically (write, fsync, rename), so a crash or a concurrent consent toggle never loses
another setting.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.errors import StateError

STATE_FILE = "state.json"
STATE_VERSION = 1


def ensure_home(home: Path) -> Path:
    """Create DEVTEL_HOME (private to the user) or say plainly why it cannot be used."""
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=home)  # unique: agents may start together
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StateError(f"DEVTEL_HOME {home} is not usable: {exc.strerror or exc}") from exc
    return home


class State:
    """Read and merge-update ``state.json``."""

    def __init__(self, home: Path) -> None:
        self.home = ensure_home(home)
        self.path = home / STATE_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            with open(self.home / ".state.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield
        except OSError as exc:
            raise StateError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.path} is unreadable ({exc}); move it aside to start afresh") from exc
        if not isinstance(data, dict):
            raise StateError(f"{self.path} does not hold a JSON object; move it aside to start afresh")
        return data

    def update(self, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` (nested dicts merge too) into the file, atomically; return the result."""
        with self._locked():
            data = _deep_merge(self.read(), changes)
            data["version"] = STATE_VERSION
            self._write(data)
        return data

    def _write(self, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".state.", dir=self.home)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.home, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StateError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def install_id(self) -> str:
        """The random id made on first run; the resource's service.instance.id from then on."""
        current = self.read().get("install_id")
        if current:
            return str(current)
        with self._locked():
            data = self.read()
            if not data.get("install_id"):
                data["install_id"] = str(uuid.uuid4())
                data["version"] = STATE_VERSION
                self._write(data)
        return str(data["install_id"])


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
