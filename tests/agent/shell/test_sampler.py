"""CPU time against wall time, from real process trees under a real interactive shell."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from agent.shell import summary
from agent.shell.classify import DEFAULT_RULES
from agent.shell.ingest import ingest
from agent.shell.sampler import sample_until
from agent.shell.store import CommandStore

pytestmark = pytest.mark.timeout(120)


def test_computing_and_waiting_commands_are_told_apart(start, devtel_home: Path, tmp_path: Path):
    busy = tmp_path / "busy.py"
    busy.write_text("import time\nend = time.time() + 6.5\nwhile time.time() < end:\n    pass\n")
    stop = threading.Event()
    sampler = threading.Thread(target=sample_until, args=(devtel_home, stop, 0.5))
    sampler.start()
    try:
        session = start("bash")
        session.run("sleep 6.5")
        session.run(f"{sys.executable} {busy} | cat")  # a pipeline: two trees, one command
        session.run("true")
        time.sleep(1.5)  # a round sees the last tree gone
    finally:
        stop.set()
        sampler.join()
    store = CommandStore(devtel_home)
    ingest(devtel_home, store, DEFAULT_RULES)
    waiting, computing, short = store.between(0, time.time() + 1)
    store.close()
    assert waiting.cpu_s is not None and waiting.cpu_s < 0.5
    # Busy the whole time, less what a loaded machine gave to others and the last round missed.
    assert computing.cpu_s is not None and 2.5 < computing.cpu_s <= computing.duration_s + 0.5
    assert short.cpu_s is None  # never past the threshold, never sampled
    stats = summary.stats(summary.runs([waiting, computing]))
    assert sum(s["wall_time_s"] for s in stats) >= 13.0
    assert sum(s["cpu_time_s"] for s in stats) == pytest.approx(waiting.cpu_s + computing.cpu_s)
