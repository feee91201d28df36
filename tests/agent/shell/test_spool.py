"""The spool reader against real files: exactly once across crashes and rotation, and no harm
from anything else a file can hold."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from agent.shell import spool as spool_module
from agent.shell.classify import DEFAULT_RULES
from agent.shell.ingest import ingest, outcome
from agent.shell.spool import GRACE_S, MAX_LINE_BYTES, ROTATED_FILE, SPOOL_FILE, parse_line
from agent.shell.store import CommandStore

T0 = float(int(time.time()) - 86400)  # inside the store's retention


def line(n: int, command: str = "pytest -q", status: int = 0, directory: str = "/nowhere") -> bytes:
    return f"1\tbash\t4242\t{T0 + n}\t{T0 + n + 0.5}\t{status}\t{directory}\t{command}\n".encode()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(autouse=True)
def no_grace(monkeypatch):
    """Here every writer is a file object the test itself closes, never a shell holding the spool
    open, so a rotated file may be finished at the very next pass. The grace period has its own
    tests below, which pass ``grace`` explicitly."""
    monkeypatch.setattr(spool_module, "GRACE_S", 0.0)


@pytest.fixture
def store(home: Path):
    commands = CommandStore(home)
    yield commands
    commands.close()


def stored(store: CommandStore) -> list[float]:
    return [c.ended_at for c in store.between(0, 2 * T0)]


def append(home: Path, data: bytes) -> None:
    with (home / SPOOL_FILE).open("ab") as spool:
        spool.write(data)


def test_each_line_is_read_once_and_the_spool_is_rotated_then_removed(home, store):
    append(home, line(1) + line(2))
    assert ingest(home, store, DEFAULT_RULES).records == 2
    assert (home / SPOOL_FILE).read_bytes() == b"" and (home / ROTATED_FILE).exists()
    append(home, line(3))
    assert ingest(home, store, DEFAULT_RULES).records == 1
    assert ingest(home, store, DEFAULT_RULES).records == 0  # the rotated file, finished and removed
    assert not (home / ROTATED_FILE).exists() and (home / SPOOL_FILE).read_bytes() == b""
    assert (home / SPOOL_FILE).stat().st_mode & 0o777 == 0o600  # it holds raw command lines
    assert stored(store) == [T0 + 1.5, T0 + 2.5, T0 + 3.5]


def test_a_shell_writing_into_the_renamed_file_loses_nothing(home, store):
    append(home, line(1))
    with (home / SPOOL_FILE).open("ab") as late_writer:  # opened before the rename
        ingest(home, store, DEFAULT_RULES)
        late_writer.write(line(2))
    ingest(home, store, DEFAULT_RULES)
    assert stored(store) == [T0 + 1.5, T0 + 2.5]


def test_a_rotated_file_is_read_again_until_it_has_been_quiet_for_the_grace_period(home, store):
    append(home, line(1))
    with (home / SPOOL_FILE).open("ab", buffering=0) as held:  # held open, as bash and zsh do
        assert ingest(home, store, DEFAULT_RULES, grace=GRACE_S).records == 1
        held.write(line(2))  # into shell.spool.1 now: the shell has not reopened yet
        append(home, line(3))  # another shell, already on the fresh spool
        assert ingest(home, store, DEFAULT_RULES, grace=GRACE_S).records == 2
        assert (home / ROTATED_FILE).exists(), "deleted while a shell may still write it"
        assert (home / SPOOL_FILE).read_bytes() == line(3), "rotated again before the last file was finished"
        held.write(line(4))
        assert ingest(home, store, DEFAULT_RULES, grace=GRACE_S).records == 1
    # The shell has reopened the spool; once shell.spool.1 has been quiet for the grace period:
    assert ingest(home, store, DEFAULT_RULES, grace=0).records == 0
    assert (home / ROTATED_FILE).read_bytes() == line(3)  # finished, and the live spool rotated in turn
    assert (home / SPOOL_FILE).read_bytes() == b""
    append(home, line(5))
    ingest(home, store, DEFAULT_RULES, grace=0)
    ingest(home, store, DEFAULT_RULES, grace=0)
    assert not (home / ROTATED_FILE).exists()
    assert sorted(stored(store)) == [T0 + n + 0.5 for n in range(1, 6)]


def test_a_rotated_file_is_finished_once_quiet_for_the_default_grace(home, store, monkeypatch):
    append(home, line(1))
    ingest(home, store, DEFAULT_RULES)
    monkeypatch.setattr(spool_module, "GRACE_S", 3600.0)
    ingest(home, store, DEFAULT_RULES)
    assert (home / ROTATED_FILE).exists()
    later = time.time() + 3601
    monkeypatch.setattr(spool_module.time, "time", lambda: later)
    ingest(home, store, DEFAULT_RULES)
    assert not (home / ROTATED_FILE).exists() and stored(store) == [T0 + 1.5]


def test_without_hard_links_the_spool_is_renamed_and_made_again(home, store, monkeypatch):
    append(home, line(1))

    def no_links(src, dst):
        raise PermissionError("no hard links here")

    monkeypatch.setattr(os, "link", no_links)
    ingest(home, store, DEFAULT_RULES)
    append(home, line(2))
    ingest(home, store, DEFAULT_RULES)
    ingest(home, store, DEFAULT_RULES)
    assert stored(store) == [T0 + 1.5, T0 + 2.5]
    assert (home / SPOOL_FILE).exists() and not (home / ROTATED_FILE).exists()


def test_a_missing_spool_is_made_when_its_directory_exists(home, store):
    assert ingest(home, store, DEFAULT_RULES).records == 0
    assert (home / SPOOL_FILE).read_bytes() == b""


def test_a_truncated_last_line_waits_for_its_end(home, store):
    whole = line(2)
    append(home, line(1) + whole[:10])
    with (home / SPOOL_FILE).open("ab") as writer:
        assert ingest(home, store, DEFAULT_RULES).records == 1
        writer.write(whole[10:])  # the hook finishes its write into the renamed file
    assert ingest(home, store, DEFAULT_RULES).records == 1
    assert stored(store) == [T0 + 1.5, T0 + 2.5]


def test_a_line_never_finished_is_dropped_when_its_file_is(home, store):
    append(home, line(1) + line(2)[:10])
    ingest(home, store, DEFAULT_RULES)
    result = ingest(home, store, DEFAULT_RULES)
    assert (result.records, result.malformed) == (0, 1)
    assert stored(store) == [T0 + 1.5]


class Crash(Exception):
    pass


def test_a_crash_before_the_commit_repeats_nothing_and_loses_nothing(home, store, monkeypatch):
    append(home, line(1) + line(2))
    real_save = CommandStore.save

    def crash(self, commands, identity, offset):
        raise Crash

    monkeypatch.setattr(CommandStore, "save", crash)
    with pytest.raises(Crash):
        ingest(home, store, DEFAULT_RULES)
    monkeypatch.setattr(CommandStore, "save", real_save)
    append(home, line(3))
    ingest(home, store, DEFAULT_RULES)
    ingest(home, store, DEFAULT_RULES)
    assert stored(store) == [T0 + 1.5, T0 + 2.5, T0 + 3.5]


def test_a_crash_after_the_commit_before_the_rename_repeats_nothing(home, store, monkeypatch):
    append(home, line(1))

    def crash(src, dst):
        raise Crash

    monkeypatch.setattr(os, "replace", crash)  # linked as shell.spool.1, not yet replaced
    with pytest.raises(Crash):
        ingest(home, store, DEFAULT_RULES)
    monkeypatch.undo()
    append(home, line(2))
    reopened = CommandStore(home)  # a new process: only what is on disk counts
    ingest(home, reopened, DEFAULT_RULES)
    ingest(home, reopened, DEFAULT_RULES)
    assert stored(reopened) == [T0 + 1.5, T0 + 2.5]
    reopened.close()


def test_hostile_content_is_skipped_and_the_good_lines_around_it_kept(home, store):
    garbage = bytes(range(256)) * 50
    append(
        home,
        line(1)
        + b"not a record\n"
        + b"2\tbash\t7\t1\t2\t0\t/\tls\n"  # a format this agent does not know
        + b"1\tksh\t7\t1\t2\t0\t/\tls\n"
        + b"1\tbash\t7\tnan\t2\t0\t/\tls\n"
        + b"1\tbash\t7\t5\t2\t0\t/\tls\n"  # ends before it starts
        + b"1\tbash\t7\t1\t2\t999\t/\tls\n"
        + b"1\tbash\t0\t1\t2\t0\t/\tls\n"  # no such shell
        + b"1\tbash\t7\t"
        + b"9" * 400
        + b"\t2\t0\t/\tls\n"
        + b"x" * (3 * MAX_LINE_BYTES)
        + b"\n"
        + garbage
        + b"\n"
        + b"\x00" * 1000
        + b"\n"
        + line(2, command="\udcff".encode("utf-8", "surrogateescape").decode("latin-1") + " pytest"),
    )
    result = ingest(home, store, DEFAULT_RULES)
    assert result.records == 2
    assert result.malformed >= 10
    assert stored(store) == [T0 + 1.5, T0 + 2.5]


def test_a_spool_cut_short_underneath_the_reader_starts_over(home, store):
    append(home, line(1) + line(2))
    ingest(home, store, DEFAULT_RULES)
    rotated = home / ROTATED_FILE
    rotated.write_bytes(line(3))  # replaced in place, shorter than the offset
    ingest(home, store, DEFAULT_RULES)
    assert stored(store) == [T0 + 1.5, T0 + 2.5, T0 + 3.5]


def test_a_tab_inside_the_command_stays_in_the_command():
    record = parse_line(b"1\tbash\t7\t1790000000\t1790000001\t0\t/\tprintf 'a\tb'\n")
    assert record is not None and record.command == "printf 'a\tb'"


def test_a_locale_decimal_comma_is_read():
    record = parse_line(b"1\tbash\t7\t1790000000,25\t1790000001,75\t0\t/\tls\n")
    assert record is not None and record.duration == 1.5


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (0, "success"),
        (1, "failure"),
        (2, "failure"),
        (130, "interrupted"),
        (143, "interrupted"),
        (137, "failure"),
    ],
)
def test_outcome_of_an_exit_status(status, expected):
    assert outcome(status) == expected


def test_directory_becomes_the_repository_and_the_line_is_not_kept(home, store, tmp_path):
    repo = tmp_path / "work" / "api"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    append(home, line(1, "pytest --password hunter2", 1, str(repo / "src")) + line(2, "ls", 0, "/"))
    ingest(home, store, DEFAULT_RULES)
    first, second = store.between(0, 2 * T0)
    assert (first.category, first.tool, first.outcome, first.exit_code) == ("test", "pytest", "failure", 1)
    assert first.repository == str(repo) and second.repository is None
    assert b"hunter2" not in (home / "shell.db").read_bytes()
    assert b"/src" not in (home / "shell.db").read_bytes()
