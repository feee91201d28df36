"""The install's small persistent state (``state.json`` in DEVTEL_HOME): install id, consent
choice, base-telemetry bookkeeping.

Every write re-reads the file under a lock, merges the change in and replaces the file
atomically (write, fsync, rename), so a crash or a concurrent consent toggle never loses
another setting.

A ``state.json`` that cannot be parsed is moved aside (agent/files.py) and the agent starts
afresh with a new install id and consent ``off``: the lost file may have held an opt-out,
and losing an opt-out is worse than asking again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.errors import StateError
from agent.files import move_aside, private_dir, private_file

STATE_FILE = "state.json"
STATE_VERSION = 1


def ensure_home(home: Path) -> Path:
    """Create DEVTEL_HOME (private to the user) or say plainly why it cannot be used."""
    try:
        private_dir(home)
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
        self._held = threading.local()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock across processes; re-entrant within a thread (a read inside an
        update may need to recover the file, and flock on a second descriptor would wait forever)."""
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        try:
            with open(private_file(self.home / ".state.lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self._held.depth = 1
                try:
                    yield
                finally:
                    self._held.depth = 0
        except OSError as exc:
            raise StateError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc

    def read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StateError(f"{self.path} is unreadable: {exc.strerror or exc}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            return self._recover(f"not JSON: {exc}")
        if not isinstance(data, dict):
            return self._recover("not a JSON object")
        return data

    def _recover(self, reason: str) -> dict[str, Any]:
        """Move the damaged file aside and start with consent off until the user chooses again."""
        with self._locked():
            if not self.path.exists():  # another process recovered it meanwhile
                return self.read()
            move_aside(self.path, reason)
            stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            data = {"version": STATE_VERSION, "consent": {"level": "off", "set_at": stamp, "recovered": True}}
            self._write(data)
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
