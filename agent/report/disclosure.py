"""What of the report leaves the machine: the rule at the current consent level, and what the
sent log says really left in the period, per sink.

The sent log is read through a provider with the signature of ``read_sent(home, start, end)``,
so the report depends on the entries' fields, not on the module that records them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent import contract as C
from agent.config import Settings
from agent.consent import BASE, DETAILED, OFF, Consent


class SentEntry(Protocol):
    """One acknowledged payload in the sent log (``agent.sent_log.SentEntry``): when (an aware
    datetime), to which sink, the local date it describes (None for base events), what kind,
    the sink's answer ("HTTP 200") and a summary (signal, bytes, key, level)."""

    sent_at: dt.datetime
    sink: str
    day: dt.date | None
    what: str
    answer: str
    summary: Mapping[str, Any]


SentProvider = Callable[[Path, dt.date, dt.date], Sequence[SentEntry]]

NEVER = "command lines and arguments, file contents, file paths, raw error text, the raw machine id"
DETAILED_DATA = (
    "each day's totals (active hours; commits, lines and keyed hashes of commit ids per repository, "
    "by name; tools in use; project names and their last activity; the count, duration and outcome "
    "of commands per repository, category and tool; AI suggestions shown and accepted per tool and "
    "language), one event per failed or long command (its kind, tool, exit code, duration and end "
    "time), and the agent's own memory, CPU and queue figures"
)


@dataclass(frozen=True, slots=True)
class Disclosure:
    level: str
    source: str
    sinks: list[str]  # "name (type)"
    leaves: str  # one paragraph in plain words


@dataclass(frozen=True, slots=True)
class SinkSends:
    sink: str
    sends: int
    bytes: int
    days: list[str]
    what: list[str]
    answers: list[str]


@dataclass(frozen=True, slots=True)
class SentSection:
    sinks: list[SinkSends]
    entries: list[dict[str, str]]  # the newest first, as text


def disclosure(consent: Consent, settings: Settings) -> Disclosure:
    sinks = [f"{s.name} ({s.type})" for s in settings.sinks]
    leaves = _leaves(consent, sinks)
    if settings.allow_paths and consent.level == DETAILED and sinks:
        leaves += " The managed policy allows repository paths: they are sent with the names."
    return Disclosure(consent.level, consent.source, sinks, leaves)


def _leaves(consent: Consent, sinks: list[str]) -> str:
    if consent.level == OFF:
        why = f" ({consent.source[4:]} is set)" if consent.source.startswith("env:") else ""
        return f"Consent is off{why}: nothing leaves this machine. Everything in this report stays here."
    if not sinks:
        return (
            f"Consent is {consent.level}, but no sink is configured: nothing leaves this machine. "
            "Everything in this report stays here."
        )
    to = ", ".join(sinks)
    base = f"the base record ({', '.join(C.BASE_FIELDS)}) at first start and as a daily heartbeat"
    if consent.level == BASE:
        return f"Consent is base. Sent to {to}: only {base}. None of the figures in this report leave."
    return (
        f"Consent is detailed. Sent to {to}: {DETAILED_DATA}; and {base}. The chokepoints and "
        f"percentiles of this report are computed on this machine. Never sent: {NEVER}."
    )


def _summary_text(summary: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(summary.items()))


def sent_section(
    provider: SentProvider, home: Path, start: dt.date, end: dt.date, limit: int = 50
) -> SentSection:
    entries = sorted(provider(home, start, end), key=lambda e: e.sent_at, reverse=True)
    per_sink: dict[str, list[SentEntry]] = {}
    for entry in entries:
        per_sink.setdefault(entry.sink, []).append(entry)
    sinks = [
        SinkSends(
            sink=name,
            sends=len(logged),
            bytes=sum(int(e.summary.get("bytes", 0)) for e in logged),
            days=sorted({e.day.isoformat() for e in logged if e.day is not None}),
            what=sorted({e.what for e in logged}),
            answers=sorted({e.answer for e in logged}),
        )
        for name, logged in sorted(per_sink.items())
    ]
    shown = [
        {
            "sent_at": e.sent_at.astimezone().isoformat(timespec="seconds"),
            "sink": e.sink,
            "day": e.day.isoformat() if e.day else "",
            "what": e.what,
            "answer": e.answer,
            "summary": _summary_text(e.summary),
        }
        for e in entries[:limit]
    ]
    return SentSection(sinks, shown)
