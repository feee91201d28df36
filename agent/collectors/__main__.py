"""``python -m agent.collectors``: the collectors alone, printing days as JSON and sending nothing.

For a developer checking what the collectors see (``preview``) or rebuilding past days
(``backfill``, with a progress bar on stderr). ``devtel-agent preview``/``collect --days``
add identity, consent and sending on top of the same ``collect_day``/``backfill``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from agent.collectors.collect import backfill, collect_day
from agent.collectors.errors import CollectorError
from agent.collectors.settings import DEFAULT_DEPTH, DEFAULT_GAP_MINUTES, CollectorSettings
from agent.day import DayReport


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = CollectorSettings(
            author_emails=tuple(args.email or ()),
            # Local display only: commit ids are not part of the printed JSON.
            hash_commit_id=lambda commit_id: hashlib.sha256(commit_id.encode()).hexdigest(),
            roots=tuple(args.root or [Path.home()]),
            depth=args.depth,
            extra_repositories=tuple(args.repo),
            allow_paths=args.allow_paths,
            gap_minutes=args.gap_minutes,
        )
        if args.command == "preview":
            reports = [collect_day(args.date or dt.date.today(), settings)]
        else:
            reports = backfill(args.days, settings, progress=True)
    except CollectorError as exc:
        print(f"devtel collectors: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        print(json.dumps(_view(report), indent=2))
    return 0


def _view(report: DayReport) -> dict[str, object]:
    return {"date": report.date.isoformat(), "active_minutes": report.active_minutes, **report.to_devlake()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agent.collectors", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--email",
        action="append",
        help="an extra address of yours (git's user.email in each repository always counts)",
    )
    parser.add_argument(
        "--root", action="append", type=Path, help="where to look for repositories (default: ~)"
    )
    parser.add_argument(
        "--repo", action="append", type=Path, default=[], help="a repository outside the roots"
    )
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH)
    parser.add_argument("--gap-minutes", type=int, default=DEFAULT_GAP_MINUTES)
    parser.add_argument("--allow-paths", action="store_true", help="include repository paths")
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", help="print one day (default today)")
    preview.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD")
    days = commands.add_parser("backfill", help="print the last N days, rebuilt from git history")
    days.add_argument("--days", type=int, required=True)
    return parser


if __name__ == "__main__":
    sys.exit(main())
