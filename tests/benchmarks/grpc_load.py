"""One process of the gRPC load generator: ``tasks`` concurrent callers on one channel.

Several of these run side by side (see load.run_grpc), because one Python process cannot
keep 64 callers busy on its own. Prints one JSON line: calls by status code, each call's
latency, and which frames were answered OK (so the caller knows what must be stored).

Usage: python grpc_load.py TARGET FRAMES AUTHORIZATION TASKS SECONDS START_AT PROCESS PROCESSES
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import grpc

from tests.benchmarks.load import read_frames


async def main(
    target: str,
    frames: Path,
    authorization: str,
    tasks: int,
    seconds: float,
    start_at: float,
    index: int,
    of: int,
) -> dict[str, object]:
    everything = list(enumerate(read_frames(frames)))
    # Each process takes its share of the frames; a single frame (the baseline) is everyone's.
    mine = [(n, frame) for n, frame in everything if n % of == index] or everything
    metadata = (("authorization", authorization),)
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    answered: set[int] = set()
    cursor = 0
    async with grpc.aio.insecure_channel(target) as channel:
        calls = {path: channel.unary_unary(path) for path in {f.target for _, f in mine}}
        await channel.channel_ready()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        stop_at = time.perf_counter() + seconds
        cpu_before = time.process_time()

        async def caller() -> None:
            nonlocal cursor
            while time.perf_counter() < stop_at:
                number, frame = mine[cursor % len(mine)]
                cursor += 1
                began = time.perf_counter()
                try:
                    await calls[frame.target](frame.body, metadata=metadata, timeout=30)
                    code = "OK"
                    answered.add(number)
                except grpc.aio.AioRpcError as exc:
                    code = exc.code().name
                latencies.append(time.perf_counter() - began)
                statuses[code] = statuses.get(code, 0) + 1

        await asyncio.gather(*(caller() for _ in range(tasks)))
        cpu_seconds = time.process_time() - cpu_before
    return {
        "statuses": statuses,
        "latencies": latencies,
        "answered": sorted(answered),
        "cpu_seconds": cpu_seconds,
    }


if __name__ == "__main__":
    target, frames, authorization, tasks, seconds, start_at, index, of = sys.argv[1:9]
    result = asyncio.run(
        main(
            target,
            Path(frames),
            authorization,
            int(tasks),
            float(seconds),
            float(start_at),
            int(index),
            int(of),
        )
    )
    print(json.dumps(result))
