"""Ships a sink's outbox: peek, send, then acknowledge. One pass walks the queue in order;
a retryable failure holds the sink back (exponential backoff with jitter, or Retry-After),
a rejection is moved aside and the pass goes on to the next item."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.outbox import Item, Outbox
from agent.sinks import Outcome, Payload, Sink


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float

    def delay(self, failures: int, retry_after: float | None, rng: random.Random) -> float:
        """Retry-After when the server gave one (capped), else base·2ⁿ with equal jitter."""
        if retry_after is not None:
            return min(self.cap, retry_after)
        ceiling = min(self.cap, self.base * 2 ** max(0, failures - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass
class PassResult:
    sent: int = 0
    rejected: int = 0
    deferred: bool = False
    skipped: int = 0  # held back by consent


def flush_sink(
    sink: Sink,
    outbox: Outbox,
    backoff: Backoff,
    *,
    may_send: Callable[[str], bool],
    on_ack: Callable[[Item], None],
    stop: threading.Event,
    deadline: float | None = None,
    force: bool = False,
    rng: random.Random | None = None,
) -> PassResult:
    """One pass over ``sink``'s queue. ``force`` ignores the backoff schedule (``devtel-agent flush``)."""
    result, rng = PassResult(), rng or random.Random()
    name = sink.config.name
    failures, not_before = outbox.failures(name)
    if not force and time.time() < not_before:
        result.deferred = True
        return result
    last_id = 0
    while not stop.is_set() and (deadline is None or time.time() < deadline):
        item = outbox.next_item(name, last_id)
        if item is None:
            break
        last_id = item.id
        if not may_send(item.level):  # consent is checked at send time too, not only at enqueue
            result.skipped += 1
            continue
        answer = sink.send(Payload(item.signal, item.body))
        if answer.outcome is Outcome.OK:
            outbox.acknowledge(item)
            on_ack(item)
            result.sent += 1
        elif answer.outcome is Outcome.REJECT:
            outbox.reject(item, answer.reason)
            result.rejected += 1
        else:
            outbox.defer(item, answer.reason, backoff.delay(failures + 1, answer.retry_after, rng))
            result.deferred = True
            break
    return result


def run_sender(
    sink: Sink,
    outbox: Outbox,
    backoff: Backoff,
    *,
    may_send: Callable[[str], bool],
    on_ack: Callable[[Item], None],
    stop: threading.Event,
    wake: threading.Event,
    poll: float,
) -> None:
    """The long-running loop of ``devtel-agent run``: send when due, sleep until woken or the next try."""
    while not stop.is_set():
        flush_sink(sink, outbox, backoff, may_send=may_send, on_ack=on_ack, stop=stop)
        _, not_before = outbox.failures(sink.config.name)
        wait = max(0.05, min(poll, not_before - time.time())) if not_before > time.time() else poll
        wake.wait(wait)
        wake.clear()
