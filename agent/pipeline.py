"""The agent wired together: settings, state, consent, identity, the day source, the outbox
and the sinks. The CLI and the service loop call this; it holds no argument parsing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import psutil

from agent import emit, sent_log
from agent.config import Settings, load_settings
from agent.consent import DETAILED, OFF, Change, Consent, effective, set_level
from agent.day import DayReport
from agent.identity import Identity, resolve
from agent.outbox import REJECTED, UNREADABLE, Item, Outbox
from agent.pseudonyms import pseudonymous_day
from agent.resource import base_fields, base_resource, detailed_resource
from agent.sender import Backoff, PassResult, flush_sink
from agent.shell import recording
from agent.sinks import Sink, build_sink
from agent.source import build_day
from agent.state import State
from agent.store import DayStore

LAST_DAY_DELIVERED = "last_day_delivered"  # state key: the newest day a sink answered 2xx for


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Agent:
    """One install's agent. Construction validates config and opens state; nothing is sent."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.settings: Settings = load_settings(env)
        self.state = State(self.settings.home)
        self.outbox = Outbox(self.settings.home, self.settings.outbox_max_bytes)
        self.store = DayStore(self.settings.home)
        self.sinks: list[Sink] = [build_sink(c) for c in self.settings.sinks]
        self.backoff = Backoff(self.settings.backoff_base, self.settings.backoff_max)
        self._identity: Identity | None = None

    # --- who and what may leave -----------------------------------------------------------
    def consent(self) -> Consent:
        return effective(self.settings, self.state.read())

    def identity(self) -> Identity:
        if self._identity is None:
            self._identity = resolve(self.settings)
        return self._identity

    def service_consent(self) -> Consent | None:
        """The consent the installed service will apply: its own environment (read back from the
        unit or plist) decides the opt-out switches and paths, not this shell's. None when no
        service is installed."""
        from agent.service import installed_environment

        service_env = installed_environment(self.env)
        if service_env is None:
            return None
        settings = load_settings({"HOME": self.env.get("HOME", ""), **service_env})
        return effective(settings, State(settings.home).read())

    def may_send(self, level: str) -> bool:
        return self.consent().allows(level)

    def day(self, date: dt.date) -> DayReport:
        """The day as it may leave (paths stripped unless the policy allows them; repository and
        branch names hashed under a pseudonymous identity)."""
        recording.apply(self.settings.home, self.consent())  # the shell hooks follow consent
        day = emit.private_day(
            build_day(date, self.settings, self.store, self.identity()), self.settings.allow_paths
        )
        if self.identity().mode == "pseudonymous" and self.settings.salt:
            day = pseudonymous_day(day, self.settings.salt, self.settings.allow_names)
        return day

    def identity_of(self, day: DayReport) -> Identity:
        """Named mode reports the address the day's commits were written with (a work email set
        by ``includeIf`` rather than the personal global one)."""
        identity = self.identity()
        if identity.mode == "named" and day.author_email:
            return dataclasses.replace(identity, email=day.author_email)
        return identity

    # --- building and queueing exports ----------------------------------------------------
    def planned(self, days: Iterable[DayReport]) -> list[emit.Export]:
        """Everything a collect of ``days`` would queue at the current consent level.

        Sends and queues nothing (``preview`` relies on that); only a first run's install id is written.
        """
        consent = self.consent()
        if consent.level == OFF:
            return []
        data, install_id = self.state.read(), self.state.install_id()
        base = base_resource(install_id)
        exports: list[emit.Export] = []
        if not data.get("first_seen_sent_at"):
            exports.append(
                emit.base_event(
                    emit.KIND_FIRST_SEEN, base_fields(self.settings, data, install_id, heartbeat=False), base
                )
            )
        if data.get("last_heartbeat_date") != dt.date.today().isoformat():
            exports.append(
                emit.base_event(
                    emit.KIND_HEARTBEAT, base_fields(self.settings, data, install_id, heartbeat=True), base
                )
            )
        if consent.allows(DETAILED):
            for day in days:
                identity = self.identity_of(day)
                exports.append(
                    emit.day_export(day, identity, detailed_resource(identity, install_id, self.settings))
                )
            resource = detailed_resource(self.identity(), install_id, self.settings)
            exports.append(emit.agent_export(self.cost(), resource))
        return exports

    def enqueue(self, exports: Iterable[emit.Export]) -> int:
        """Commit every export to every sink's outbox; returns the number of payloads stored."""
        stored = 0
        for export in exports:
            before = stored
            for sink in self.sinks:
                for payload in sink.render(export):
                    self.outbox.put(
                        sink.config.name, payload.signal, export.kind, export.key, export.level, payload.body
                    )
                    stored += 1
            if export.kind == emit.KIND_HEARTBEAT and stored > before:  # today's is queued somewhere
                self.state.update(
                    last_heartbeat_date=dt.date.today().isoformat(), last_heartbeat_at=_now_iso()
                )
        if not self.state.read().get("first_seen_at"):
            self.state.update(first_seen_at=_now_iso())
        return stored

    def on_ack(self, item: Item, answer: str = "") -> None:
        """Log what left (the sent log); first_seen counts as sent only once a sink answered 2xx.

        The newest day delivered is remembered: `run` catches up from it at start.
        """
        what, day = sent_log.describe(item.kind, item.signal, item.key)
        summary = {"signal": item.signal, "bytes": len(item.body), "key": item.key, "level": item.level}
        sent_log.record(
            self.settings.home,
            sent_log.SentEntry(dt.datetime.now(dt.UTC), item.sink, day, what, answer, summary),
        )
        if item.kind == emit.KIND_FIRST_SEEN and not self.state.read().get("first_seen_sent_at"):
            self.state.update(first_seen_sent_at=_now_iso())
        if item.kind == emit.KIND_DAY:
            date = item.key.removeprefix("day:")
            if date > (self.state.read().get(LAST_DAY_DELIVERED) or ""):
                self.state.update(**{LAST_DAY_DELIVERED: date})

    def catch_up_dates(self, today: dt.date) -> list[dt.date]:
        """The days `run` collects at start: every day since the last one delivered (that day
        included: its tail may not have been), at most ``catch_up_days``; today alone when
        nothing was ever delivered."""
        last = self.state.read().get(LAST_DAY_DELIVERED)
        try:
            first = dt.date.fromisoformat(last) if last else today
        except ValueError:
            first = today  # a hand-edited state file: today is always right
        first = max(first, today - dt.timedelta(days=self.settings.catch_up_days - 1))
        return [first + dt.timedelta(days=n) for n in range((today - first).days + 1)] or [today]

    def flush(self, *, timeout: float | None = None) -> dict[str, PassResult]:
        """Send everything queued now, ignoring backoff (``collect`` and ``flush``)."""
        deadline = time.time() + timeout if timeout is not None else None
        stop = threading.Event()
        return {
            sink.config.name: flush_sink(
                sink,
                self.outbox,
                self.backoff,
                may_send=self.may_send,
                on_ack=self.on_ack,
                stop=stop,
                deadline=deadline,
                force=True,
            )
            for sink in self.sinks
        }

    def close(self, timeout: float = 2.0) -> None:
        """Before exit: dropping a fire-and-forget copy beats holding up the user's shell."""
        deadline = time.monotonic() + timeout
        for sink in self.sinks:
            sink.close(max(0.0, deadline - time.monotonic()))

    def set_consent(self, level: str) -> Change:
        change = set_level(self.settings, self.state, self.outbox, level)
        recording.apply(self.settings.home, change.after)  # opting out deletes the shell spool
        if change.granted_detailed:
            resource = detailed_resource(self.identity(), self.state.install_id(), self.settings)
            self.enqueue([emit.consent_granted(change.before.level, resource)])
        return change

    # --- reporting ------------------------------------------------------------------------
    def cost(self) -> emit.AgentCost:
        process = psutil.Process()
        cpu = process.cpu_times()
        now, sinks = time.time(), {}
        for sink in self.sinks:
            s = self.outbox.status(sink.config.name)
            sinks[sink.config.name] = {
                "depth": s.pending,
                "age": now - s.oldest_pending_at if s.oldest_pending_at else 0.0,
                "sent": s.sent,
                "failed": s.failed,
                "dropped": s.dropped,
            }
        return emit.AgentCost(process.memory_info().rss, cpu.user + cpu.system, sinks)

    def status(self) -> dict[str, Any]:
        consent, data, now = self.consent(), self.state.read(), time.time()
        today = self.day(dt.date.today())
        sinks = []
        for sink in self.sinks:
            s = self.outbox.status(sink.config.name)
            sinks.append(
                {
                    "name": s.sink,
                    "type": sink.config.type,
                    "protocol": sink.config.protocol,
                    "endpoints": dict(sink.config.endpoints),
                    "pending": s.pending,
                    "pending_bytes": s.pending_bytes,
                    "oldest_pending_age_s": round(now - s.oldest_pending_at, 1)
                    if s.oldest_pending_at
                    else None,
                    "rejected": [
                        {"kind": a.kind, "key": a.key, "reason": a.reason, "at": _iso(a.at)}
                        for a in s.rejected
                        if a.status == REJECTED
                    ],
                    "unreadable": [
                        {"kind": a.kind, "key": a.key, "reason": a.reason, "at": _iso(a.at)}
                        for a in s.rejected
                        if a.status == UNREADABLE
                    ],
                    "last_success_at": _iso(s.last_success_at),
                    "last_failure_at": _iso(s.last_failure_at),
                    "last_failure": s.last_failure,
                    "next_attempt_at": _iso(s.next_attempt_at or None),
                    "sent": s.sent,
                    "failed": s.failed,
                    "dropped": s.dropped,
                }
            )
        service = self.service_consent()
        return {
            "consent": {"level": consent.level, "source": consent.source},
            "service_consent": {"level": service.level, "source": service.source} if service else None,
            "identity": {"mode": self.settings.identity_mode},
            "install_id": data.get("install_id"),
            "managed_policy": str(self.settings.policy_path) if self.settings.managed else None,
            "base_telemetry": {
                "first_seen_sent_at": data.get("first_seen_sent_at"),
                "last_heartbeat_date": data.get("last_heartbeat_date"),
            },
            "outbox_bytes": self.outbox.size_bytes(),
            "sinks": sinks,
            "today": today.to_devlake(),
            # Local only: repositories whose commits of today match none of your addresses.
            "warnings": today.identity_warnings,
        }

    def preview(self, dates: Iterable[dt.date]) -> dict[str, Any]:
        consent = self.consent()
        exports = self.planned(self.day(d) for d in dates)
        return {
            "consent": {"level": consent.level, "source": consent.source},
            "sinks": [
                {
                    "name": sink.config.name,
                    "type": sink.config.type,
                    "protocol": sink.config.protocol,
                    "already_queued": self.outbox.status(sink.config.name).pending,
                    "items": [
                        {"kind": e.kind, "key": e.key, "level": e.level, **sink.describe(p)}
                        for e in exports
                        for p in sink.render(e)
                    ],
                }
                for sink in self.sinks
            ],
        }


def _iso(stamp: float | None) -> str | None:
    return dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(timespec="seconds") if stamp else None
