"""``devtel-agent run``: collect on an interval, queue, and let one sender thread per sink ship
the outbox. Collection never waits on the network; a failed round is reported and retried next
interval instead of crashing the service into a restart loop."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.emit import day_key
from agent.errors import AgentError
from agent.pipeline import Agent
from agent.sender import run_sender
from agent.shell.sampler import sample_until
from agent.store import day_digest

if TYPE_CHECKING:
    from agent.relay_server import RelayServers

SHUTDOWN_GRACE = 2.0  # dropping a send beats holding up a logout or a shutdown


def _log(message: str) -> None:
    print(f"devtel-agent: {message}", file=sys.stderr, flush=True)


@dataclass
class Rounds:
    """What the loop remembers between rounds, so an unchanged day is not queued again."""

    last_date: dt.date | None = None
    queued: dict[dt.date, str] = field(default_factory=dict)  # date -> digest of the queued snapshot
    consent: Any = None  # the consent record the digests were made under
    outbox_generation: int = 0  # a damaged outbox replaced mid-run lost what was queued


def collect_round(agent: Agent, rounds: Rounds) -> None:
    """Queue today (and yesterday's final totals once the date has changed) if it changed.

    The first round catches up: every day since the last one delivered, so a laptop closed at
    18:05 sends 18:00-18:05 the next morning. A consent change (which may have purged queued
    days) or an outbox replaced because it was damaged forgets what was queued; digests are
    recorded only for days actually queued, and only once the outbox holds them.
    """
    consent = agent.state.read().get("consent")
    if consent != rounds.consent or agent.outbox.generation != rounds.outbox_generation:
        rounds.queued.clear()
        rounds.consent = consent
        rounds.outbox_generation = agent.outbox.generation
    today = dt.date.today()
    if rounds.last_date is None:
        dates = agent.catch_up_dates(today)
    else:
        dates = [today] if rounds.last_date == today else [rounds.last_date, today]
    days = [agent.day(d) for d in dates]
    fresh = [day for day in days if rounds.queued.get(day.date) != day_digest(day)]
    exports = agent.planned(fresh)
    agent.enqueue(exports)
    keys = {export.key for export in exports}
    rounds.queued = {d: h for d, h in rounds.queued.items() if d in dates}
    rounds.queued.update({day.date: day_digest(day) for day in fresh if day_key(day.date) in keys})
    rounds.last_date = today


def _sender(agent: Agent, index: int, stop: threading.Event, wake: threading.Event) -> None:
    """One sink's sender thread (run_sender itself survives any failure of a pass)."""
    run_sender(
        agent.sinks[index],
        agent.outbox,
        agent.backoff,
        may_send=agent.may_send,
        on_ack=agent.on_ack,
        stop=stop,
        wake=wake,
        poll=agent.settings.poll_seconds,
    )


def _start_relay(agent: Agent, wakes: list[threading.Event]) -> RelayServers | None:
    """AI tools' OTLP on 127.0.0.1, through consent and the outbox (agent/relay.py).

    Imported here, after the signal handlers are in place: gRPC takes a moment to load.
    """
    settings = agent.settings
    if not settings.relay_enabled:
        return None
    from agent.relay import Relay
    from agent.relay_server import RelayServers

    def wake_senders() -> None:
        for wake in wakes:
            wake.set()

    servers = RelayServers(Relay(agent, wake_senders), settings.relay_http_port, settings.relay_grpc_port)
    for listening in servers.start():
        _log(f"relay: {listening}")
    return servers


def run(agent: Agent, stop: threading.Event) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    wakes = [threading.Event() for _ in agent.sinks]
    threads = [
        threading.Thread(
            target=_sender,
            args=(agent, i, stop, wakes[i]),
            name=f"sender-{s.config.name}",
            daemon=True,
        )
        for i, s in enumerate(agent.sinks)
    ]
    if agent.settings.shell.get("enabled", True):  # CPU against wall time of long commands
        threads.append(
            threading.Thread(
                target=sample_until, args=(agent.settings.home, stop), name="sampler", daemon=True
            )
        )
    for thread in threads:
        thread.start()
    relay = _start_relay(agent, wakes)
    rounds = Rounds()
    while not stop.is_set():
        _guarded_round(agent, rounds)
        for wake in wakes:
            wake.set()
        stop.wait(agent.settings.interval_seconds)
    if relay is not None:
        relay.stop()
    for wake in wakes:
        wake.set()
    deadline = time.monotonic() + SHUTDOWN_GRACE
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    # Logout, shutdown, `systemctl stop`: the day's tail since the last round is collected and
    # queued (the outbox keeps it), then given the grace period to leave now.
    _guarded_round(agent, rounds)
    agent.flush(timeout=SHUTDOWN_GRACE)
    agent.close(SHUTDOWN_GRACE)


def _guarded_round(agent: Agent, rounds: Rounds) -> None:
    try:
        collect_round(agent, rounds)
    except AgentError as exc:
        _log(f"collect: {exc}; retrying in {agent.settings.interval_seconds:g}s")
