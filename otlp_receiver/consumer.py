"""The transport-free consumer: every OTLP transport authenticates, then hands the body here."""

from __future__ import annotations

import logging

import anyio
from google.protobuf.message import Message

from bridge.mapping.otlp_mapping import MappingResult
from otlp_receiver import json_pool
from otlp_receiver.limits import RequestLimits, check_request
from otlp_receiver.otlp_codec import JSON, PROTOBUF, decode
from otlp_receiver.signals import Signal
from otlp_receiver.state import ReceiverState

log = logging.getLogger("devtel.receiver")
# Decoding, checking and mapping are CPU work: past this many bytes they run in a worker thread,
# so a 10 MB request never holds the event loop (and /healthz) while it is parsed.
_INLINE_BYTES = 64 * 1024


def _prepare(
    signal: Signal, body: bytes, fmt: str, connection_id: int, limits: RequestLimits
) -> MappingResult:
    message = decode(body, fmt, signal.request_type)
    check_request(message, limits)
    return signal.map(message, connection_id)


async def consume(state: ReceiverState, signal: Signal, body: bytes, fmt: str, connection_id: int) -> Message:
    """Decode, bound, map, store (answering only after commit), and describe what was not used."""
    limits = state.settings.request_limits()
    if fmt == JSON and len(body) > json_pool.PROCESS_BYTES:
        body, fmt = await json_pool.json_to_protobuf(body, signal.request_type), PROTOBUF
    if len(body) > _INLINE_BYTES:
        result = await anyio.to_thread.run_sync(_prepare, signal, body, fmt, connection_id, limits)
    else:
        result = _prepare(signal, body, fmt, connection_id, limits)
    if result.to_store:
        await state.snapshot_writer.submit(result.to_store)
    counter = state.metrics.items
    counter.labels(signal.name, "accepted").inc(result.accepted)
    counter.labels(signal.name, "rejected").inc(result.rejected)
    counter.labels(signal.name, "ignored").inc(result.ignored)
    if result.rejected:
        # The count only: the reasons quote client data (names, dates), which stays out of logs.
        log.info("connection %d: %d %s item(s) rejected", connection_id, result.rejected, signal.name)
    return signal.response(result)
