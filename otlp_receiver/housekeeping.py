"""The AI tables' retention while the receiver runs: prune once at start, then once a day.

So the seed's 90 days hold without a cron job; ``devtel-receiver prune`` does the same on demand
and, with ``--older-than``, for every table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import anyio
import sqlalchemy as sa

from bridge.errors import BridgeError
from bridge.store.retention import prune
from otlp_receiver.state import ReceiverState

log = logging.getLogger("devtel.receiver")
INTERVAL_SECONDS = 24 * 3600


class AiRetention:
    """An attachment of the receiver: a task that prunes the AI tables once a day."""

    def __init__(self, state: ReceiverState, days: int) -> None:
        self._state = state
        self._days = days
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                removed = await anyio.to_thread.run_sync(
                    lambda: prune(self._state.engine, ai_older_than_days=self._days)
                )
                if removed.total:
                    log.info("AI retention (%d days): removed %s", self._days, removed.counts)
            except (BridgeError, sa.exc.DBAPIError) as exc:  # a database that is down now is tried tomorrow
                log.warning("AI retention skipped: %s", exc)
            await asyncio.sleep(INTERVAL_SECONDS)
