"""`devtel-agent report`: the arguments, then the terminal, JSON or HTML view of one report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from agent.config import load_settings
from agent.consent import effective
from agent.errors import AgentError
from agent.report import build
from agent.report.disclosure import SentProvider
from agent.report.stores import period_dates
from agent.sent_log import read_sent
from agent.state import State

WEEK = 7
MAX_DAYS = 366
# Where the report reads what left the machine; tests put their own entries here.
SENT_LOG: SentProvider = read_sent


class ReportError(AgentError):
    """An HTML file that cannot be written; the message names the path."""

    exit_code = 1


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--date: {text!r} is not a date (YYYY-MM-DD)") from exc


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"--days: {text!r} is not a whole number from 1 to {MAX_DAYS}")
    return int(text)


def configure(parser: argparse.ArgumentParser) -> None:
    period = parser.add_mutually_exclusive_group()
    period.add_argument("--week", action="store_true", help="today and the 6 days before it (the default)")
    period.add_argument("--days", type=_days, help=f"today and the N-1 days before it (1 to {MAX_DAYS})")
    period.add_argument("--date", type=_date, help="one local date, YYYY-MM-DD")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write the report as one HTML page")


def dates_of(args: argparse.Namespace, today: dt.date) -> list[dt.date]:
    if args.date:
        return [args.date]
    return period_dates(today, args.days or WEEK)


def write_page(report: build.Report, path: Path) -> Path:
    """Written beside and renamed over, so a browser never shows half a page."""
    target = path.expanduser().resolve()
    partial = target.with_name(f".{target.name}.partial")
    from agent.report import page

    try:
        partial.write_text(page.render(report), encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ReportError(f"--html: cannot write {path}: {exc.strerror or exc}") from exc
    return target


def cmd_report(args: argparse.Namespace) -> int:
    settings = load_settings(os.environ)
    consent = effective(settings, State(settings.home).read())
    report = build.build(settings, consent, dates_of(args, dt.date.today()), SENT_LOG)
    written = write_page(report, args.html) if args.html else None
    if args.json:
        print(json.dumps(build.to_dict(report), indent=2, sort_keys=True))
    else:
        # rich is imported here, not at start-up: every other subcommand starts without it.
        from agent.report import terminal

        terminal.render(report, sys.stdout)
    if written:
        print(f"wrote {written}", file=sys.stderr if args.json else sys.stdout)
    return 0
