"""Load generators for the receiver benchmarks, and what each run measured.

HTTP load comes from wrk (C, one thread: it costs a fraction of what the receiver does), driven
by ``frames.lua``; gRPC load from a few ``grpc_load.py`` processes. Both replay a frames file:
pre-built requests, so that building a request costs nothing during a run. Every run also
records the CPU used by the receiver, the database server and the load generator, which says
where the limit is on a machine where all three share the same cores.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WRK_SCRIPT = HERE / "frames.lua"
GRPC_CLIENT = HERE / "grpc_load.py"
_DATABASE_PROCESSES = ("mariadbd", "mysqld")


@dataclass(frozen=True, slots=True)
class Frame:
    """One pre-built request: an HTTP method and path (or a gRPC method path) and its body."""

    method: str
    target: str
    body: bytes = b""


def write_frames(path: Path, frames: Iterable[Frame]) -> Path:
    with path.open("wb") as out:
        for frame in frames:
            out.write(f"{frame.method} {frame.target} {len(frame.body)}\n".encode())
            out.write(frame.body)
    return path


def read_frames(path: Path) -> list[Frame]:
    data = path.read_bytes()
    frames, pos = [], 0
    while pos < len(data):
        eol = data.index(b"\n", pos)
        method, target, length = data[pos:eol].decode().split(" ")
        end = eol + 1 + int(length)
        frames.append(Frame(method, target, data[eol + 1 : end]))
        pos = end
    return frames


@dataclass
class Run:
    """One measured run at a fixed number of concurrent clients."""

    clients: int
    seconds: float
    answered: int
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    socket_errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # cores used, by process group
    answered_frames: set[int] | None = None  # gRPC only: which frames got OK

    @property
    def rate(self) -> float:
        return self.answered / self.seconds


def median_run(runs: list[Run]) -> Run:
    """The repeat with the median rate, so a figure is one real run, not a blend of several."""
    return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


def _database_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] in _DATABASE_PROCESSES]


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def cpu_meter(receiver_pid: int, into: dict[str, float]) -> Iterator[None]:
    """Cores used during the block by the receiver (with its worker processes), the database
    server and reaped children (the load)."""
    receiver = [psutil.Process(receiver_pid)]
    receiver += receiver[0].children(recursive=True)
    database = _database_processes()
    before = (_cpu_seconds(receiver), _cpu_seconds(database), _children_cpu(), time.perf_counter())
    yield
    elapsed = time.perf_counter() - before[3]
    into["receiver"] = (_cpu_seconds(receiver) - before[0]) / elapsed
    into["database"] = (_cpu_seconds(database) - before[1]) / elapsed
    into["load"] = (_children_cpu() - before[2]) / elapsed


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    frames: Path,
    *,
    clients: int,
    seconds: float,
    authorization: str,
    content_type: str,
    receiver_pid: int,
) -> Run:
    """wrk with one thread and ``clients`` keep-alive connections, each waiting for its answer."""
    env = {**os.environ, "BENCH_AUTHORIZATION": authorization, "BENCH_CONTENT_TYPE": content_type}
    command = [
        "wrk",
        "-t1",
        f"-c{clients}",
        f"-d{round(seconds)}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    cpu: dict[str, float] = {}
    with cpu_meter(receiver_pid, cpu):
        out = subprocess.run(
            [*command, "--", str(frames)], env=env, capture_output=True, text=True, check=True
        )
    line = next(line for line in out.stdout.splitlines() if line.startswith("BENCH "))
    figures = json.loads(line.removeprefix("BENCH "))
    return Run(
        clients=clients,
        seconds=figures["duration_us"] / 1e6,
        answered=figures["requests"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        statuses=figures["statuses"],
        socket_errors=figures["errors"],
        cpu=cpu,
    )


def run_grpc(
    target: str, frames: Path, *, clients: int, seconds: float, authorization: str, receiver_pid: int
) -> Run:
    """``clients`` concurrent callers spread over at most two client processes (one per core)."""
    processes = min(2, clients)
    start_at = time.time() + 1.5  # every process connected and imported before the clock starts
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(GRPC_CLIENT),
                target,
                str(frames),
                authorization,
                str(clients // processes + (1 if n < clients % processes else 0)),
                str(seconds),
                str(start_at),
                str(n),
                str(processes),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    time.sleep(max(0.0, start_at - time.time()))
    cpu: dict[str, float] = {}
    with cpu_meter(receiver_pid, cpu):
        outputs = [json.loads(worker.communicate(timeout=seconds + 120)[0]) for worker in workers]
    # The clients' own CPU in the measured window (their start-up is not load).
    cpu["load"] = sum(output["cpu_seconds"] for output in outputs) / seconds
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    answered: set[int] = set()
    for output in outputs:
        for code, count in output["statuses"].items():
            statuses[code] = statuses.get(code, 0) + count
        latencies.extend(output["latencies"])
        answered.update(output["answered"])
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0.0] * 99
    return Run(
        clients=clients,
        seconds=seconds,
        answered=len(latencies),
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        statuses=statuses,
        cpu=cpu,
        answered_frames=answered,
    )
