"""Group commit keeps batches full: a batch waits for the clients its predecessor answered.

The writer runs for real (its asyncio tasks and its worker thread); what it writes is a list of
the batches it was handed. The clients resend after a random pause, as real ones do after
parsing and sending, so requests arrive while a batch commits. Without the wait the batches
alternate (a big one, then the one request that arrived during its commit, alone).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Sequence

from otlp_receiver.writer import BatchWriter

NEVER = 3600.0  # a gather bound no test reaches: the wait must end because the clients came back


class Recorder:
    """The write side: notes each batch's items, taking a little time as a commit does."""

    def __init__(self, seconds: float = 0.002) -> None:
        self.batches: list[list[int]] = []
        self._seconds = seconds
        self._lock = threading.Lock()

    def write(self, items: Sequence[int]) -> None:
        time.sleep(self._seconds)
        with self._lock:
            self.batches.append(list(items))


async def _client(writer: BatchWriter[int], client: int, rounds: int, rng: random.Random) -> None:
    for n in range(rounds):
        await writer.submit([client * 1000 + n])
        await asyncio.sleep(rng.uniform(0, 0.003))


async def _run_clients(writer: BatchWriter[int], clients: int, rounds: int) -> None:
    writer.start()
    rng = random.Random(5)
    await asyncio.gather(*(_client(writer, c, rounds, rng) for c in range(clients)))
    await writer.stop()


def test_batches_stay_full_while_every_client_keeps_sending() -> None:
    recorder = Recorder()
    writer = BatchWriter(recorder.write, gather_wait=NEVER)
    asyncio.run(asyncio.wait_for(_run_clients(writer, clients=8, rounds=15), 120))
    sizes = [len(batch) for batch in recorder.batches]
    assert sizes == [8] * 15, sizes
    assert sorted(i for batch in recorder.batches for i in batch) == sorted(
        c * 1000 + n for c in range(8) for n in range(15)
    )


def test_one_client_never_waits_for_the_bound() -> None:
    recorder = Recorder(seconds=0)
    writer = BatchWriter(recorder.write, gather_wait=NEVER)
    # With a bound of an hour, any wait would hang the run past wait_for's limit.
    asyncio.run(asyncio.wait_for(_run_clients(writer, clients=1, rounds=20), 120))
    assert [len(batch) for batch in recorder.batches] == [1] * 20


def test_a_batch_goes_alone_once_the_bound_passes_when_clients_leave() -> None:
    recorder = Recorder()

    async def scenario() -> None:
        writer = BatchWriter(recorder.write, gather_wait=0.05)
        writer.start()
        await asyncio.gather(*(writer.submit([n]) for n in range(6)))  # a batch of six answered
        await asyncio.gather(*(writer.submit([n]) for n in range(6, 8)))  # two of them come back
        await writer.stop()

    asyncio.run(asyncio.wait_for(scenario(), 120))
    assert recorder.batches == [list(range(6)), [6, 7]]


def test_max_batch_still_caps_a_batch_that_waits() -> None:
    recorder = Recorder()
    writer = BatchWriter(recorder.write, gather_wait=0.01, max_batch=5)
    asyncio.run(asyncio.wait_for(_run_clients(writer, clients=8, rounds=5), 120))
    assert max(len(batch) for batch in recorder.batches) <= 5
    assert sum(len(batch) for batch in recorder.batches) == 40
