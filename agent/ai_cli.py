"""`devtel-agent ai record`: the arguments, and one line saying what happened."""

from __future__ import annotations

import argparse
import datetime as dt
import os

from agent import contract as C
from agent.ai import AiRecord, record
from agent.pipeline import Agent


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return int(text)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="ai_action", required=True, metavar="ACTION")
    rec = actions.add_parser(
        "record",
        help="add suggestions shown/accepted and accepted lines to today's totals (detailed consent only)",
    )
    rec.add_argument("--tool", required=True, help="the assistant: copilot, cursor, codeium, ...")
    rec.add_argument("--language", required=True, help="the programming language: python, go, ...")
    rec.add_argument("--shown", type=_count, required=True, help="suggestions shown")
    rec.add_argument("--accepted", type=_count, required=True, help="suggestions accepted")
    rec.add_argument("--lines", type=_count, default=0, help="lines of the accepted suggestions")
    rec.add_argument("--feature", default="completion", choices=C.AI_FEATURES)
    rec.add_argument("--date", type=_date, help="the local date, YYYY-MM-DD (default: today)")


def cmd_ai(args: argparse.Namespace) -> int:
    agent = Agent(os.environ)
    entry = AiRecord(
        args.date or dt.date.today(),
        args.tool,
        args.language,
        args.feature,
        args.shown,
        args.accepted,
        args.lines,
    )
    queued = record(agent, entry)
    if queued is None:
        consent = agent.consent()
        print(
            f"nothing recorded: AI use is detailed data and consent is {consent.level} "
            f"(from {consent.source}); `devtel-agent consent detailed` to opt in"
        )
        return 0
    print(f"recorded {entry.date}: queued the day's AI totals for {queued} payload(s); the agent sends them")
    return 0
