"""``devtel-agent``: parses arguments and hands over to the pipeline. Each subcommand is one
entry of ``COMMANDS`` (name, help, argument setup, handler), so another part (the shell hook)
adds itself with one line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.metadata import version as package_version
from typing import Any

from agent import ai_cli, service
from agent.config import LEVELS, load_settings
from agent.errors import AgentError, SendError
from agent.pipeline import Agent
from agent.report import cli as report_cli
from agent.sender import PassResult

FLUSH_TIMEOUT = 30.0  # collect/flush give up after this; whatever is left stays queued


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _dates(args: argparse.Namespace) -> list[dt.date]:
    if getattr(args, "date", None):
        return [args.date]
    today = dt.date.today()
    return [today - dt.timedelta(days=n) for n in reversed(range(getattr(args, "days", None) or 1))]


def _flush_summary(results: dict[str, PassResult]) -> str:
    def one(name: str, r: PassResult) -> str:
        held = f", {r.skipped} held back by consent" if r.skipped else ""
        return f"{name}: {r.sent} sent, {r.rejected} rejected{held}{', retrying later' if r.deferred else ''}"

    return ", ".join(one(name, r) for name, r in results.items()) or "no sinks configured"


def _refused(results: dict[str, PassResult]) -> SendError | None:
    """One line for the first sink that refused everything it was sent this pass, if any."""
    for name, r in results.items():
        if r.all_rejected:
            auth = r.last_rejection.startswith(
                ("HTTP 401", "HTTP 403", "gRPC UNAUTHENTICATED", "gRPC PERMISSION")
            )
            hint = "check the API key" if auth else "see `devtel-agent status`"
            return SendError(
                f"sink {name} rejected all {r.rejected} item(s) ({r.last_rejection}): {hint}, "
                f"then `devtel-agent requeue --sink {name}`"
            )
    return None


def _report_flush(prefix: str, results: dict[str, PassResult]) -> int:
    """Print the summary; a sink that refused everything is an error (exit 6), not a quiet 0."""
    print(prefix + _flush_summary(results))
    refused = _refused(results)
    if refused is not None:
        raise refused
    return 0


# --- handlers ---------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from agent.runner import run

    run(Agent(os.environ), threading.Event())
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    agent = Agent(os.environ)
    # Built (and kept in the local store) at every consent level: `report` shows them even when none leave.
    days = [agent.day(d) for d in _dates(args)]
    stored = agent.enqueue(agent.planned(days))
    results = agent.flush(timeout=FLUSH_TIMEOUT)
    agent.close()
    return _report_flush(f"queued {stored} payload(s); ", results)


def cmd_preview(args: argparse.Namespace) -> int:
    _print_json(Agent(os.environ).preview(_dates(args)))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    status = Agent(os.environ).status()
    if args.json:
        _print_json(status)
        return 0
    print(f"consent: {status['consent']['level']} (from {status['consent']['source']})")
    service = status["service_consent"]
    if service is None:
        print("service: not installed (`devtel-agent install`)")
    else:
        differs = service != status["consent"]
        print(
            f"service: consent {service['level']} (from {service['source']})"
            + (" -- not this shell's: reinstall to carry this shell's settings over" if differs else "")
        )
    print(f"identity: {status['identity']['mode']}   install id: {status['install_id']}")
    print(
        f"today: {status['today']['active_hours']} active hour(s), "
        f"{status['today']['git_activity']['total_commits']} commit(s)"
    )
    for warning in status["warnings"]:  # local only: never sent
        print(f"warning: {warning}")
    for sink in status["sinks"]:
        print(f"sink {sink['name']} ({sink['type']}, {sink['protocol']}):")
        print(
            f"  pending:  {sink['pending']}"
            + (f", next try {sink['next_attempt_at']}" if sink["pending"] and sink["next_attempt_at"] else "")
            + (
                f" (last failure {sink['last_failure_at']}: {sink['last_failure']})"
                if sink["pending"] and sink["last_failure"]
                else ""
            )
        )
        print(
            f"  rejected: {len(sink['rejected'])}"
            + (" (fix, then `devtel-agent requeue`)" if sink["rejected"] else "")
        )
        for aside in sink["rejected"]:
            print(f"    {aside['key']} at {aside['at']}: {aside['reason']}")
        for aside in sink["unreadable"]:
            print(f"    unreadable {aside['key']} at {aside['at']}: {aside['reason']}")
        print(
            f"  sent:     {sink['sent']}, last success {sink['last_success_at'] or 'never'}"
            + (f"; {sink['dropped']} dropped (outbox full)" if sink["dropped"] else "")
        )
    if not status["sinks"]:
        print("no sinks configured")
    return 0


def cmd_consent(args: argparse.Namespace) -> int:
    agent = Agent(os.environ)
    if args.level in (None, "show"):
        consent = agent.consent()
        print(f"{consent.level} (from {consent.source})")
        return 0
    change = agent.set_consent(args.level)
    note = f"; purged {change.purged} unsent item(s)" if change.purged else ""
    held = (
        f" (sending is off while {change.after.source[4:]} is set)"
        if change.after.source.startswith("env:")
        else ""
    )
    print(f"consent: {change.before.level} -> {change.after.level}{held}{note}")
    return 0


def cmd_flush(args: argparse.Namespace) -> int:
    agent = Agent(os.environ)
    results = agent.flush(timeout=args.timeout)
    agent.close()
    return _report_flush("", results)


def cmd_requeue(args: argparse.Namespace) -> int:
    agent = Agent(os.environ)
    names = [s.config.name for s in agent.sinks]
    if args.sink is not None and args.sink not in names:
        raise AgentError(f"no sink named {args.sink!r}; configured: {', '.join(names) or 'none'}")
    moved = agent.outbox.requeue(args.sink)
    print(f"requeued {moved} rejected item(s); they are sent on the next flush or `run` pass")
    return 0


def cmd_sent(args: argparse.Namespace) -> int:
    from agent.sent_log import RETENTION_DAYS, read_sent

    date = args.date or dt.date.today()
    entries = read_sent(Agent(os.environ).settings.home, date, date)
    if args.json:
        _print_json([e.to_json() for e in entries])
        return 0
    for e in entries:
        print(
            f"{e.sent_at.astimezone().isoformat(timespec='seconds')}  {e.sink}  {e.what}"
            f"{' ' + e.day.isoformat() if e.day else ''}  {e.answer}  {e.summary.get('bytes', '?')} bytes"
        )
    if not entries:
        print(f"nothing was sent on {date} (the sent log keeps {RETENTION_DAYS} days)")
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    load_settings(os.environ)  # a config the service could not start with fails here, not in a restart loop
    if args.dry_run:
        plan = service.plan_install(os.environ)
        print(f"# would write {plan.path}:")
        print(plan.content.decode(), end="" if plan.content.endswith(b"\n") else "\n")
        print("# would run:" if plan.commands else "# would run nothing (no usable service manager here)")
        for command in plan.commands:
            print(" ".join(command))
        return 0
    path, loaded = service.install(os.environ)
    consent = Agent(os.environ).service_consent()
    print(
        f"wrote {path}; {'loaded and started' if loaded else 'not loaded (no usable service manager here)'}"
        + (f"; the service applies consent {consent.level} (from {consent.source})" if consent else "")
    )
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    path, existed = service.uninstall(os.environ)
    print(f"removed {path}" if existed else f"nothing installed at {path}")
    return 0


def cmd_hook(args: argparse.Namespace) -> int:
    from agent.shell.recording import print_hook

    return print_hook(args.shell, os.environ)


def _no_args(parser: argparse.ArgumentParser) -> None:
    """This subcommand takes no options."""


def _sent_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_date, help="the local date, YYYY-MM-DD (default: today)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _date_args(parser: argparse.ArgumentParser, *, days: bool) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--date", type=_date, help="one local date, YYYY-MM-DD (default: today)")
    if days:
        group.add_argument("--days", type=_positive, help="today and the N-1 days before it")


COMMANDS: list[
    tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = [
    ("run", "the long-running service: collect on an interval, send from the outbox", _no_args, cmd_run),
    ("collect", "collect, queue and send once, then exit", lambda p: _date_args(p, days=True), cmd_collect),
    (
        "preview",
        "print what would leave the machine, per sink, as JSON; sends nothing",
        lambda p: _date_args(p, days=False),
        cmd_preview,
    ),
    (
        "status",
        "consent, identity, sinks, outbox and today's figures",
        lambda p: p.add_argument("--json", action="store_true", help="machine-readable output"),
        cmd_status,
    ),
    (
        "report",
        "your own week (or --days N, --date D) from this machine's data: hours, commits, tests, builds, AI",
        report_cli.configure,
        report_cli.cmd_report,
    ),
    (
        "consent",
        "show or set the consent level",
        lambda p: p.add_argument("level", nargs="?", choices=("show", *LEVELS)),
        cmd_consent,
    ),
    (
        "flush",
        "send everything queued now, ignoring backoff",
        lambda p: p.add_argument("--timeout", type=float, default=FLUSH_TIMEOUT, help="seconds (default 30)"),
        cmd_flush,
    ),
    (
        "hook",
        'print the shell hook: eval "$(devtel-agent hook bash)"; fish: devtel-agent hook fish | source',
        lambda p: p.add_argument("shell", choices=("bash", "zsh", "fish")),
        cmd_hook,
    ),
    (
        "ai",
        "record AI assistant use (suggestions shown and accepted, lines)",
        ai_cli.configure,
        ai_cli.cmd_ai,
    ),
    (
        "requeue",
        "put rejected items back in the queue (after fixing the key)",
        lambda p: p.add_argument("--sink", help="only this sink (default: every sink)"),
        cmd_requeue,
    ),
    (
        "sent",
        "what left the machine on a date: when, to which sink, with which answer",
        _sent_args,
        cmd_sent,
    ),
    (
        "install",
        "install and start the user service (systemd or launchd)",
        lambda p: p.add_argument(
            "--dry-run", action="store_true", help="print the unit or plist and the commands; change nothing"
        ),
        cmd_install,
    ),
    ("uninstall", "stop and remove the user service", _no_args, cmd_uninstall),
]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="devtel-agent", description="devtel developer telemetry agent")
    top.add_argument("--version", action="version", version=f"%(prog)s {package_version('devtel')}")
    subs = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text, configure, handler in COMMANDS:
        sub = subs.add_parser(name, help=help_text, description=help_text)
        configure(sub)
        sub.set_defaults(handler=handler)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    # A full disk under a file-size limit must be an error we report, not a SIGXFSZ kill.
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.umask(0o077)  # every file and directory the agent (or a library it uses) creates is the user's alone
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except AgentError as exc:
        print(f"devtel-agent: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
