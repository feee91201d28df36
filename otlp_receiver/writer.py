"""Group commit: concurrent requests' writes share one transaction, each answered after its commit.

A request hands its items to ``submit`` and waits. A worker takes everything queued (up to
``max_batch`` items), writes it in one transaction in a worker thread, and then answers every
request in that batch. Under load, batches grow and the cost of a commit is shared; with one
client, a batch is one request and nothing waits for a timer.

Without a wait, batches alternate under load: while a batch of 63 commits, one request
arrives; it is written alone while the 63 just answered send again, and so on (63, 1, 63, 1),
half the commits carrying one request. So a batch smaller than the previous one waits, at
most ``gather_wait`` seconds, for as many requests as the previous batch answered: those
clients coming back. One client never waits (its previous batch was its one request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

from bridge.errors import StorageUnavailable
from otlp_receiver.errors import TooManyRequests

T = TypeVar("T")


@dataclass(slots=True)
class _Pending(Generic[T]):
    items: Sequence[T]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BatchWriter(Generic[T]):
    """Serialises writes through ``workers`` tasks; ``write_batch`` runs in a thread and commits."""

    def __init__(
        self,
        write_batch: Callable[[Sequence[T]], object],
        *,
        max_batch: int = 1000,
        workers: int = 1,
        max_pending: int = 2000,
        retry_after: int = 5,
        on_batch: Callable[[int, int], None] | None = None,  # (requests in the batch, still queued)
        gather_wait: float = 0.001,
    ) -> None:
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._workers = workers
        self._max_pending = max_pending
        self._retry_after = retry_after
        self._on_batch = on_batch
        self._gather_wait = gather_wait
        self._queue: asyncio.Queue[_Pending[T]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run()) for _ in range(self._workers)]

    async def stop(self) -> None:
        """Finish what is queued, then end the workers."""
        await self._queue.join()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def submit(self, items: Sequence[T]) -> None:
        """Return once ``items`` are committed; raise what the write raised for them."""
        if self._queue.qsize() >= self._max_pending:
            raise TooManyRequests("the receiver is busy; retry later", retry_after=self._retry_after)
        pending = _Pending(items)
        self._queue.put_nowait(pending)
        await pending.done

    async def _run(self) -> None:
        answered = 1  # requests in this worker's previous batch: the clients expected back
        while True:
            batch = [await self._queue.get()]
            try:
                await self._gather(batch, answered)
                answered = len(batch)
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _gather(self, batch: list[_Pending[T]], expected: int) -> None:
        """Add what is queued to ``batch``; while it holds fewer than ``expected`` requests, wait
        up to ``gather_wait`` for more (bounded: the clients may have gone)."""
        size = sum(len(pending.items) for pending in batch)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._gather_wait
        while size < self._max_batch:
            if self._queue.empty():
                remaining = deadline - loop.time()
                if len(batch) >= expected or remaining <= 0:
                    return
                try:
                    async with asyncio.timeout(remaining):
                        batch.append(await self._queue.get())
                except TimeoutError:
                    return
            else:
                batch.append(self._queue.get_nowait())
            size += len(batch[-1].items)

    async def _commit(self, batch: list[_Pending[T]]) -> None:
        items = [item for pending in batch for item in pending.items]
        try:
            await anyio.to_thread.run_sync(self._write_batch, items)
        except StorageUnavailable as exc:
            for pending in batch:
                _settle(pending, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            await self._isolate(batch)
            return
        if self._on_batch is not None:
            self._on_batch(len(batch), self.pending)
        for pending in batch:
            _settle(pending, None)

    async def _isolate(self, batch: list[_Pending[T]]) -> None:
        """One request's data broke the shared transaction: write each half on its own, down to
        the culprit, so the others still commit and only the culprit hears of its error. Halving
        costs about 2·log2(n) transactions per bad request instead of one per request."""
        middle = len(batch) // 2
        for half in (batch[:middle], batch[middle:]):
            await self._commit(half)


def _settle(pending: _Pending[T], error: BaseException | None) -> None:
    if pending.done.done():
        return
    if error is None:
        pending.done.set_result(None)
    else:
        pending.done.set_exception(error)
