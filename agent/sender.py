"""Ships a sink's outbox: peek, send, then acknowledge. One pass walks the queue in order;
a retryable failure holds the sink back (exponential backoff with jitter, or Retry-After),
a rejection is moved aside and the pass goes on to the next item.

A stored body the sink cannot even encode is moved aside as unreadable; nothing about one
item may end a pass, and nothing at all may end the ``run`` sender loop while the process lives.
"""

from __future__ import annotations

import random
import sys
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
    unreadable: int = 0
    last_rejection: str = ""  # the reason of the last rejection, for the one-line error

    @property
    def all_rejected(self) -> bool:
        """Everything this pass tried was refused for good (nothing sent, nothing left to retry):
        the loud failure of collect/flush."""
        return self.rejected > 0 and self.sent == 0 and not self.deferred


def flush_sink(
    sink: Sink,
    outbox: Outbox,
    backoff: Backoff,
    *,
    may_send: Callable[[str], bool],
    on_ack: Callable[[Item, str], None],
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
        try:
            answer = sink.send(Payload(item.signal, item.body))
        except Exception as exc:  # a body this sink cannot decode: never a reason to stop the queue
            outbox.set_unreadable(item, f"unreadable row: {type(exc).__name__}: {exc}")
            result.unreadable += 1
            continue
        if answer.outcome is Outcome.OK:
            outbox.acknowledge(item)
            on_ack(item, answer.answer)
            result.sent += 1
        elif answer.outcome is Outcome.REJECT:
            outbox.reject(item, answer.reason)
            result.rejected += 1
            result.last_rejection = answer.reason
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
    on_ack: Callable[[Item, str], None],
    stop: threading.Event,
    wake: threading.Event,
    poll: float,
) -> None:
    """The long-running loop of ``devtel-agent run``: send when due, sleep until woken or the next try.

    Any failure of a pass (a full disk, a damaged outbox, a bug) is logged and the loop goes on
    after ``poll`` seconds: a dead sender thread would leave a live process that sends nothing.
    """
    while not stop.is_set():
        try:
            flush_sink(sink, outbox, backoff, may_send=may_send, on_ack=on_ack, stop=stop)
            _, not_before = outbox.failures(sink.config.name)
        except Exception as exc:
            print(
                f"devtel-agent: sink {sink.config.name}: {type(exc).__name__}: {exc}",
                file=sys.stderr,
                flush=True,
            )
            stop.wait(poll)
            continue
        wait = max(0.05, min(poll, not_before - time.time())) if not_before > time.time() else poll
        wake.wait(wait)
        wake.clear()
