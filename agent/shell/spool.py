"""The hooks' spool file: made by the agent, read incrementally, exactly once, whatever it holds.

The hooks append ``1<TAB>shell<TAB>pid<TAB>start<TAB>end<TAB>status<TAB>directory<TAB>command`` lines
to ``$DEVTEL_HOME/shell.spool``, but only to a spool that exists and is writable, so the agent
makes the file (mode 0600: it holds raw command lines) and keeps it in place. Each pass reads
what is new and rotates the file: the spool is linked as ``shell.spool.1`` and a fresh empty one
replaces it in one rename, so a shell never finds it missing.

The bash and zsh hooks keep the spool open between commands (a write to a held descriptor is
far cheaper than an open per command). At the first prompt ``REOPEN_S`` or more after their
last check they check that the descriptor is still the live spool (two stat calls) and open it
again if not. So for up to ``REOPEN_S`` after a rotation a shell may still append to
``shell.spool.1``. The agent therefore reads ``shell.spool.1`` at every pass, incrementally
like the live file, and finishes and deletes it only once nothing has changed it for
``GRACE_S`` (its ctime, which the link, the rename and every write move forward); until then the
live spool is not rotated again. The fish hook opens the spool by name for every command.
Raw command lines stay on disk for two passes, or ``GRACE_S`` after their last write if that is
longer. Offsets are kept per file identity (device, inode) in the same SQLite transaction as
the records read, so a crash between the two can neither lose nor repeat one.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, Protocol

from agent.shell.files import FRESH_FILE, ROTATED_FILE, SPOOL_FILE, create, make_spool, trim_spool

FORMAT_VERSION: Final = "1"
SHELLS: Final = ("bash", "zsh", "fish")
MAX_LINE_BYTES: Final = 64 * 1024  # the hooks cut commands at 4 KiB; anything longer is not theirs
MAX_DURATION_S: Final = 7 * 24 * 3600.0
REOPEN_S: Final = 10  # the bash and zsh hooks check this often that they hold the live spool
GRACE_S: Final = 30.0  # a rotated file untouched this long has no shell left writing it


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    """One command as a hook wrote it. Holds the raw line: classify it and let it go."""

    shell: str
    shell_pid: int  # ties the command to the process-tree samples of its shell
    start: float
    end: float
    status: int
    directory: str
    command: str

    @property
    def duration(self) -> float:
        return self.end - self.start


def parse_line(raw: bytes) -> SpoolRecord | None:
    """The record on one line, or None for anything a hook did not write."""
    # The command comes last, so a tab inside it stays part of it.
    fields = raw.rstrip(b"\n").decode("utf-8", errors="replace").split("\t", 7)
    if len(fields) != 8 or fields[0] != FORMAT_VERSION or fields[1] not in SHELLS:
        return None
    try:
        # A locale with a decimal comma shows in $EPOCHREALTIME too.
        pid = int(fields[2])
        start, end = (float(f.replace(",", ".")) for f in fields[3:5])
        status = int(fields[5])
    except ValueError:
        return None
    if not (math.isfinite(start) and math.isfinite(end) and 0 < start <= end <= start + MAX_DURATION_S):
        return None
    if not 0 <= status <= 255 or pid <= 0:
        return None
    return SpoolRecord(fields[1], pid, start, end, status, fields[6], fields[7])


Identity = tuple[int, int]  # (device, inode): survives the rename, unlike the name


class Ledger(Protocol):
    """Where records go, with the offset reached, in one transaction (``agent.shell.store``)."""

    def offset(self, identity: Identity) -> int: ...

    def commit(self, records: list[SpoolRecord], identity: Identity, offset: int) -> None: ...

    def keep_offsets(self, identities: list[Identity]) -> None: ...


@dataclass(frozen=True, slots=True)
class PassResult:
    records: int = 0
    malformed: int = 0


def ensure_spool(home: Path) -> None:
    """DEVTEL_HOME and an empty spool in it, so the hooks start recording."""
    make_spool(home)


def _rotate(home: Path) -> None:
    live, rotated, fresh = home / SPOOL_FILE, home / ROTATED_FILE, home / FRESH_FILE
    create(fresh)
    try:
        os.link(live, rotated)  # the offset moves with the inode
    except FileExistsError:
        fresh.unlink()
        return
    except OSError:  # a file system without hard links: a moment without a spool
        os.replace(live, rotated)
    os.replace(fresh, live)


def drain(home: Path, ledger: Ledger, *, grace: float | None = None) -> PassResult:
    """One pass: read the rotated file (finish and delete it once it has been quiet for
    ``grace`` seconds, ``GRACE_S`` by default), read the live one, rotate it if the rotated file
    is gone. Missing files are fine."""
    grace = GRACE_S if grace is None else grace
    rotated, live = home / ROTATED_FILE, home / SPOOL_FILE
    total = PassResult()
    trim_spool(home)  # a spool no agent read for weeks: the oldest lines go first
    if rotated.exists():
        final = _quiet_for(rotated, grace)
        total = _add(total, _read(rotated, ledger, final=final))
        if final:
            rotated.unlink(missing_ok=True)
    if live.exists():
        total = _add(total, _read(live, ledger, final=False))
        if live.stat().st_size and not rotated.exists():  # one rotated file at a time
            # The rotated file just deleted freed its inode, which the fresh spool may get: its
            # offset must go first, or the new file would be read from the old one's offset.
            ledger.keep_offsets([_identity(live)])
            _rotate(home)
    elif home.is_dir():
        ensure_spool(home)
    ledger.keep_offsets([_identity(p) for p in (rotated, live) if p.exists()])
    return total


def _quiet_for(path: Path, grace: float) -> bool:
    """Nothing has linked, renamed or written ``path`` for ``grace`` seconds."""
    try:
        changed = path.stat().st_ctime
    except FileNotFoundError:
        return True
    return time.time() - changed >= grace


def _add(a: PassResult, b: PassResult) -> PassResult:
    return PassResult(a.records + b.records, a.malformed + b.malformed)


def _identity(path: Path) -> Identity:
    stat = path.stat()
    return stat.st_dev, stat.st_ino


def _read(path: Path, ledger: Ledger, *, final: bool) -> PassResult:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return PassResult()
    with handle:
        stat = os.fstat(handle.fileno())
        identity = (stat.st_dev, stat.st_ino)
        offset = ledger.offset(identity)
        if offset > stat.st_size:  # truncated or replaced in place: start over
            offset = 0
        handle.seek(offset)
        records, malformed = [], 0
        for line, end in _lines(handle, final=final):
            record = parse_line(line) if line is not None else None
            if record is None:
                malformed += 1
            else:
                records.append(record)
            offset = end
        ledger.commit(records, identity, offset)
    return PassResult(len(records), malformed)


def _lines(handle: BinaryIO, *, final: bool) -> Iterator[tuple[bytes | None, int]]:
    """(line, offset after it); None for an oversized line. A last line without its newline
    may still be being written: it is left for later, unless this is the file's last read."""
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if line.endswith(b"\n"):
            yield line, handle.tell()
        elif len(line) > MAX_LINE_BYTES:
            while line and not line.endswith(b"\n"):
                line = handle.readline(MAX_LINE_BYTES)
            if not line and not final:
                return
            yield None, handle.tell()
        else:
            if final:
                yield None, handle.tell()
            return
