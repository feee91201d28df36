"""Large OTLP/JSON bodies are turned into protobuf in a helper process.

``json.loads`` is C code that holds the GIL for the whole document (about 70 ms for 10 MB), so
a worker thread alone would still stall the event loop and /healthz. The helper process parses
and answers with the protobuf encoding, which the receiver reads back in about 2 ms.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from google.protobuf.message import Message

from otlp_receiver.otlp_codec import JSON, decode

# Below this a thread is enough: the GIL is held for a few milliseconds at most.
PROCESS_BYTES = 1 << 20
_pool: ProcessPoolExecutor | None = None


def _to_protobuf(body: bytes, message_type: type[Message]) -> bytes:
    return decode(body, JSON, message_type).SerializeToString()


async def json_to_protobuf(body: bytes, message_type: type[Message]) -> bytes:
    """The body's protobuf encoding; BadRequest (raised in the helper) as decode() raises it."""
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return await asyncio.get_running_loop().run_in_executor(_pool, _to_protobuf, body, message_type)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None
