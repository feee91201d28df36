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
from agent.config import LEVELS
from agent.errors import AgentError
from agent.pipeline import Agent
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


# --- handlers ---------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from agent.runner import run

    run(Agent(os.environ), threading.Event())
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    agent = Agent(os.environ)
    stored = agent.enqueue(agent.planned(agent.day(d) for d in _dates(args)))
    results = agent.flush(timeout=FLUSH_TIMEOUT)
    agent.close()
    print(f"queued {stored} payload(s); {_flush_summary(results)}")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    _print_json(Agent(os.environ).preview(_dates(args)))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    status = Agent(os.environ).status()
    if args.json:
        _print_json(status)
        return 0
    print(f"consent: {status['consent']['level']} (from {status['consent']['source']})")
    print(f"identity: {status['identity']['mode']}   install id: {status['install_id']}")
    print(
        f"today: {status['today']['active_hours']} active hour(s), "
        f"{status['today']['git_activity']['total_commits']} commit(s)"
    )
    for sink in status["sinks"]:
        print(
            f"sink {sink['name']} ({sink['type']}, {sink['protocol']}): {sink['pending']} pending, "
            f"{len(sink['rejected'])} rejected, {sink['dropped']} dropped; last success "
            f"{sink['last_success_at'] or 'never'}; last failure {sink['last_failure_at'] or 'never'}"
            + (f" ({sink['last_failure']})" if sink["last_failure"] else "")
        )
        for rejected in sink["rejected"]:
            print(f"  rejected {rejected['key']}: {rejected['reason']}")
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
    print(_flush_summary(results))
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    path, loaded = service.install(os.environ)
    print(
        f"wrote {path}; {'loaded and started' if loaded else 'not loaded (no usable service manager here)'}"
    )
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    path, existed = service.uninstall(os.environ)
    print(f"removed {path}" if existed else f"nothing installed at {path}")
    return 0


def cmd_hook(args: argparse.Namespace) -> int:
    from agent import env as E
    from agent.shell.hooks import hook_script
    from agent.shell.spool import ensure_spool

    try:  # the hooks only append to a spool that exists; without one they stay silent
        ensure_spool(E.path_from(os.environ, E.DEVTEL_HOME, E.DEFAULT_HOME))
    except OSError as exc:
        print(f"devtel-agent: the shell hook will record nothing: {exc}", file=sys.stderr)
    print(hook_script(args.shell), end="")
    return 0


def _no_args(parser: argparse.ArgumentParser) -> None:
    """This subcommand takes no options."""


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
    ("install", "install and start the user service (systemd or launchd)", _no_args, cmd_install),
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
