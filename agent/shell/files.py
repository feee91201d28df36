"""The spool's files in DEVTEL_HOME, and the switch that lets the hooks write there or not.

The hooks append only to a spool that exists, so whether the spool exists *is* the switch:
with recording off (consent ``off``, an opt-out variable, the policy) the spool and its rotated
file are deleted and ``shell.off`` marks the state, so nothing makes the spool again until
consent is back. The bash and zsh hooks test the spool's existence at every prompt (one stat
call, no fork), fish opens it by name, so every shell stops writing at its next prompt.

Imports ``os`` alone on purpose: ``devtel-agent hook`` runs in every new shell, and this is all
its fast path (``agent/entry.py``) needs. ``typing`` (2 ms), ``pathlib`` (3 ms, through
``agent.env``) and ``contextlib`` would each cost every new terminal more than all the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

SPOOL_FILE = "shell.spool"
ROTATED_FILE = "shell.spool.1"
FRESH_FILE = "shell.spool.new"
TRIM_FILE = "shell.spool.trim"
CLOCK_FILE = "shell.clock"  # the fish hook's clock (the mtime of a file it writes)
HOOK_COPY = "hook.{shell}"  # the hook as a file an rc line can source, no Python at all
OFF_FILE = "shell.off"  # recording is off: nothing makes the spool until consent is back
MAX_SPOOL_BYTES = 4 * 1024 * 1024  # ~20,000 commands: weeks without an agent reading them
# agent.env's DEVTEL_HOME and DEFAULT_HOME, which the hook scripts hard-code too (a test checks
# all three agree); not imported, for the reason above.
HOME_VARIABLE, DEFAULT_HOME = "DEVTEL_HOME", "~/.local/state/devtel"

Home = str | os.PathLike[str]


def home_from(env: Mapping[str, str]) -> str:
    """DEVTEL_HOME as the hooks read it (they take the same variable, the same default)."""
    return os.path.expanduser(env.get(HOME_VARIABLE) or DEFAULT_HOME)


def marked_off(home: Home) -> bool:
    """The agent last saw consent ``off`` (``stop_recording``)."""
    return os.path.exists(os.path.join(home, OFF_FILE))


def create(path: Home) -> None:
    """An empty file, mode 0600 (it holds raw command lines), unless one is there."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))


def make_spool(home: Home) -> None:
    """DEVTEL_HOME and an empty spool in it, so the hooks start recording."""
    os.makedirs(home, mode=0o700, exist_ok=True)
    spool = os.path.join(home, SPOOL_FILE)
    if not os.path.exists(spool):
        create(spool)


def stop_recording(home: Home) -> bool:
    """Mark recording off and delete every file holding raw command lines. True if a spool
    file was there to delete."""
    if os.path.isdir(home):
        create(os.path.join(home, OFF_FILE))
    deleted = False
    for name in (SPOOL_FILE, ROTATED_FILE, FRESH_FILE, TRIM_FILE, CLOCK_FILE):
        try:
            os.unlink(os.path.join(home, name))
        except FileNotFoundError:
            continue
        deleted = deleted or name != CLOCK_FILE
    return deleted


def resume_recording(home: Home) -> None:
    """Recording is allowed again: if it was off, the marker goes and the spool is back (an
    install that never had it off is left as it is: no spool where no hook was installed)."""
    try:
        os.unlink(os.path.join(home, OFF_FILE))
    except FileNotFoundError:
        return
    make_spool(home)


def trim_spool(home: Home, limit: int = MAX_SPOOL_BYTES) -> int:
    """Keeps the spool under ``limit`` bytes when no agent drains it: the oldest whole lines go,
    the newest half of ``limit`` stays. Returns the bytes dropped (0: nothing to do).

    The kept tail is written to a new file renamed over the spool, so a reader never sees half a
    spool; a bash or zsh shell holding the old file open follows at its next identity check, as
    after the agent's rotation (lines it writes in between are lost with the old file: the cap
    is for a spool no one reads anyway)."""
    spool = os.path.join(home, SPOOL_FILE)
    try:
        size = os.stat(spool).st_size
    except OSError:
        return 0
    if size <= limit:
        return 0
    trim = os.path.join(home, TRIM_FILE)
    with open(spool, "rb") as old:
        old.seek(size - limit // 2)
        old.readline()  # the rest of a line cut in two
        kept = old.read()
    fd = os.open(trim, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as new:
        new.write(kept)
    os.replace(trim, spool)
    return size - len(kept)


def keep_hook_copy(home: Home, shell: str, text: str) -> None:
    """``$DEVTEL_HOME/hook.SHELL`` holds ``text``: the rc line that sources it starts a shell
    with no Python process (docs/shell.md). Written only when it differs (an upgrade), in one
    rename, so a shell starting meanwhile reads the old hook or the new one, never half."""
    path = os.path.join(home, HOOK_COPY.format(shell=shell))
    try:
        with open(path, encoding="utf-8") as current:
            if current.read() == text:
                return
    except FileNotFoundError:
        pass
    fresh = f"{path}.new"
    with open(fresh, "w", encoding="utf-8") as new:
        new.write(text)
    os.replace(fresh, path)


def refresh_hook_copies(home: Home, hook_text: Callable[[str], str]) -> None:
    """Brings the hook copies a user sources up to date with this version of the agent."""
    for shell in ("bash", "zsh", "fish"):
        if os.path.exists(os.path.join(home, HOOK_COPY.format(shell=shell))):
            keep_hook_copy(home, shell, hook_text(shell))
