"""CPU time against wall time for long commands: samples of each interactive shell's command
process trees, so a dashboard can tell waiting (downloads, network, locks) from computing.

The hooks cannot say when a command starts without costing every command, so ``devtel-agent
run`` looks instead: every few seconds it lists the user's interactive shells and the process
trees under them that have run past the threshold, and adds up their CPU time. When a tree is
gone its sample (shell pid, start, last seen, CPU seconds) is stored; the day's summary joins it
to the command of that shell whose run covers it. No command line is ever read.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psutil

from agent.errors import StateError
from agent.shell.spool import SHELLS, SPOOL_FILE

THRESHOLD_S: Final = 5.0
INTERVAL_S: Final = 3.0  # one round scans the process table once: a few ms of CPU with 100 processes
log = logging.getLogger(__name__)


@dataclass(slots=True)
class TreeSample:
    shell_pid: int
    started_at: float  # the tree's root process start
    last_seen: float
    cpu_s: float  # user + system of the tree, reaped descendants included


def _tree_cpu(root: psutil.Process, children: dict[int, list[psutil.Process]]) -> float:
    total, pending = 0.0, [root]
    while pending:
        process = pending.pop()
        pending.extend(children.get(process.pid, ()))
        try:
            times = process.cpu_times()
        except psutil.Error:  # ended meanwhile: its parent's children_* times hold it once reaped
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


class ProcessTable:
    """Every process by parent, and the user's bash, zsh and fish processes among them.

    A process's name, parent and owner are read once, when its pid first appears: a round costs
    one listing of the pids plus the processes started since the last one, not a read of every
    process (which takes tens of milliseconds of CPU on a busy laptop). Scripts' shells count
    too: no hook record carries their pid, so their samples are never joined to anything.
    """

    def __init__(self) -> None:
        self._uid = os.getuid()
        self._known: dict[int, tuple[psutil.Process, int, bool]] = {}  # pid -> process, ppid, shell

    def refresh(self) -> tuple[list[psutil.Process], dict[int, list[psutil.Process]]]:
        pids = set(psutil.pids())
        for pid in self._known.keys() - pids:
            del self._known[pid]
        for pid in pids - self._known.keys():
            try:
                process = psutil.Process(pid)
                with process.oneshot():
                    ppid = process.ppid()
                    shell = process.name() in SHELLS and process.uids().real == self._uid
            except psutil.Error:  # gone, or not ours to read
                continue
            self._known[pid] = (process, ppid, shell)
        children: dict[int, list[psutil.Process]] = {}
        for process, ppid, _ in self._known.values():
            children.setdefault(ppid, []).append(process)
        return [process for process, _, shell in self._known.values() if shell], children


class TreeSampler:
    """Follows the command trees of the user's shells; ``sample`` returns the ones that ended."""

    def __init__(self, threshold_s: float = THRESHOLD_S) -> None:
        self.threshold_s = threshold_s
        self._open: dict[tuple[int, float], TreeSample] = {}  # (root pid, root start)
        self._table = ProcessTable()

    def sample(self, now: float | None = None) -> list[TreeSample]:
        now = time.time() if now is None else now
        seen = set()
        shells, children = self._table.refresh()
        for shell in shells:
            for root in children.get(shell.pid, ()):
                try:
                    started = root.create_time()
                    if now - started < self.threshold_s:
                        continue
                    cpu = _tree_cpu(root, children)
                except psutil.Error:
                    continue
                key = (root.pid, started)
                seen.add(key)
                tree = self._open.setdefault(key, TreeSample(shell.pid, started, now, cpu))
                tree.last_seen, tree.cpu_s = now, max(tree.cpu_s, cpu)
        ended = [tree for key, tree in self._open.items() if key not in seen]
        self._open = {key: tree for key, tree in self._open.items() if key in seen}
        return ended


def sample_until(home: Path, stop: threading.Event, interval_s: float = INTERVAL_S) -> None:
    """The sampling thread of ``devtel-agent run``: sample, store what ended, until ``stop``."""
    from agent.shell.store import CommandStore

    sampler = TreeSampler()
    while not stop.wait(interval_s):
        if not (home / SPOOL_FILE).exists():  # no hook installed: nothing to join samples to
            continue
        try:
            ended = sampler.sample()
            if ended:  # the store is opened only when a long command has ended
                store = CommandStore(home)
                try:
                    store.save_samples(ended)
                finally:
                    store.close()
        except (psutil.Error, StateError) as exc:  # a bad round costs its samples, not the thread
            log.warning("process sampling: %s", exc)
