"""The transport-free consumer: every OTLP transport decodes and authenticates, then calls this."""

from __future__ import annotations

import logging

import anyio
from google.protobuf.message import Message

from otlp_receiver.signals import Signal
from otlp_receiver.state import ReceiverState

log = logging.getLogger("devtel.receiver")
# Mapping is CPU work on the event loop; past this many bytes it moves to a thread.
_INLINE_BYTES = 256 * 1024


async def consume(state: ReceiverState, signal: Signal, request: Message, connection_id: int) -> Message:
    """Map, store (answering only after commit), and describe what was not used."""
    if request.ByteSize() > _INLINE_BYTES:
        result = await anyio.to_thread.run_sync(signal.map, request, connection_id)
    else:
        result = signal.map(request, connection_id)
    if result.to_store:
        await state.snapshot_writer.submit(result.to_store)
    counter = state.metrics.items
    counter.labels(signal.name, "accepted").inc(result.accepted)
    counter.labels(signal.name, "rejected").inc(result.rejected)
    counter.labels(signal.name, "ignored").inc(result.ignored)
    if result.rejected:
        log.info(
            "connection %d: %d %s item(s) rejected: %s",
            connection_id,
            result.rejected,
            signal.name,
            "; ".join(result.messages),
        )
    return signal.response(result)
