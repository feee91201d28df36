"""`devtel-receiver`: parses arguments and wires the parts together; no logic of its own."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version as package_version

import httpx
import sqlalchemy as sa

from bridge.errors import BridgeError
from bridge.fake.ai import ai_requests
from bridge.fake.team import generate_days, generate_installs
from bridge.schema.migrate import current_revision, head_revision, metrics_key_warning, upgrade
from bridge.store.connections import create_connection, delete_connection, list_connections, rotate_key
from bridge.store.database import make_engine, resolve_url
from bridge.store.retention import Removed, forget, prune
from otlp_receiver import logs
from otlp_receiver.fake import PostFailed, post_legacy, post_otlp, write_team
from otlp_receiver.logs import FORMATS as LOG_FORMATS
from otlp_receiver.settings import ReceiverSettings, SettingsError, ai_retention_days

API_KEY_ENV = "DEVTEL_API_KEY"


class UsageError(Exception):
    """A command line that cannot be carried out; printed without a traceback, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse's errors in the CLI's one-line form (no usage block), still exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"devtel-receiver: error: {message} (see {self.prog} --help)\n")


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL", help="SQLAlchemy URL (default: $DEVTEL_DB_URL, else a SQLite file)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="devtel-receiver",
        description="Receive developer telemetry (OTLP and DevLake's legacy JSON) into DevLake's tables.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version('devtel')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the receiver (OTLP/HTTP, legacy route, health, metrics)")
    _add_db(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, help="OTLP/HTTP and legacy port (default 4318)")
    serve.add_argument("--grpc-port", type=int, help="OTLP/gRPC port (default 4317; 0 turns gRPC off)")
    serve.add_argument(
        "--workers",
        type=int,
        help="receiver processes sharing the ports, one per core to use (default 1; MySQL/MariaDB only)",
    )
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    serve.add_argument(
        "--upgrade-db",
        action="store_true",
        default=None,
        help="upgrade an older schema at start (default: refuse to start; $DEVTEL_DB_UPGRADE=1)",
    )
    serve.add_argument(
        "--devlake-encryption-secret",
        metavar="SECRET",
        help="DevLake's ENCRYPTION_SECRET, to accept DevLake's own API keys (prefer the environment"
        " variable DEVTEL_DEVLAKE_ENCRYPTION_SECRET: a command line is visible to other users)",
    )
    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="text (default) or json: one event per line, control characters escaped",
    )
    serve.add_argument(
        "--tls-cert", metavar="FILE", help="PEM certificate: TLS on both ports ($DEVTEL_TLS_CERT)"
    )
    serve.add_argument("--tls-key", metavar="FILE", help="PEM private key of --tls-cert ($DEVTEL_TLS_KEY)")
    serve.add_argument(
        "--tls-client-ca",
        metavar="FILE",
        help="PEM CA: clients must show a certificate it signed, mutual TLS ($DEVTEL_TLS_CLIENT_CA); "
        "SIGHUP reloads all three files",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="a log line per request (default off; $DEVTEL_ACCESS_LOG)",
    )

    db = commands.add_parser("db", help="the schema of devtel's own tables (Alembic migrations)")
    db_commands = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_upgrade = db_commands.add_parser(
        "upgrade", help="run every pending migration (DevLake's table is never altered)"
    )
    _add_db(db_upgrade)
    db_current = db_commands.add_parser("current", help="the database's revision and this devtel's newest")
    db_current.add_argument("--json", action="store_true", help='print {"current", "head"} as JSON')
    _add_db(db_current)

    conns = commands.add_parser("connections", help="manage connections and their API keys")
    conn_commands = conns.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = conn_commands.add_parser("create", help="create a connection; prints its API key once")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--id",
        type=int,
        metavar="N",
        help="the connection id to use (to keep a DevLake-era id); default: one past every id"
        " devtel issued and every DevLake connection id",
    )
    create.add_argument("--json", action="store_true", help='print {"id", "name", "api_key"} as JSON')
    _add_db(create)
    listing = conn_commands.add_parser("list", help="list connections (never their keys)")
    listing.add_argument("--json", action="store_true")
    _add_db(listing)
    rotate = conn_commands.add_parser(
        "rotate",
        help="replace a connection's API key; the old one is refused within 1 second on every worker",
    )
    rotate.add_argument("id", type=int)
    rotate.add_argument("--json", action="store_true")
    _add_db(rotate)
    delete = conn_commands.add_parser(
        "delete", help="delete a connection and its key (refused within 1 second; its rows stay)"
    )
    delete.add_argument("id", type=int)
    _add_db(delete)

    forgetting = commands.add_parser(
        "forget", help="delete one developer of one connection from every table (the right to deletion)"
    )
    forgetting.add_argument("--connection", type=int, required=True, metavar="ID")
    forgetting.add_argument("--developer", required=True, metavar="DEV", help="the developer_id to delete")
    forgetting.add_argument("--json", action="store_true", help="print the rows deleted per table as JSON")
    _add_db(forgetting)
    pruning = commands.add_parser("prune", help="delete rows older than a number of days")
    pruning.add_argument(
        "--older-than", type=int, metavar="DAYS", help="every table: rows dated before today-DAYS"
    )
    pruning.add_argument(
        "--ai-older-than",
        type=int,
        metavar="DAYS",
        help="the AI tables (default $DEVTEL_AI_RETENTION_DAYS, else 90); always applied",
    )
    pruning.add_argument("--json", action="store_true", help="print the rows deleted per table as JSON")
    _add_db(pruning)

    fake = commands.add_parser("fake", help="generate a realistic fake team and send or write it")
    fake.add_argument("--developers", type=int, default=15)
    fake.add_argument("--weeks", type=int, default=6)
    fake.add_argument("--seed", type=int, default=42)
    fake.add_argument("--end", type=dt.date.fromisoformat, help="last date, YYYY-MM-DD (default yesterday)")
    fake.add_argument(
        "--connection",
        type=int,
        help="connection id the rows belong to: with --db, and with --url --protocol legacy "
        "(over OTLP the API key names the connection)",
    )
    fake.add_argument("--no-ai", action="store_true", help="leave out the team's AI assistant use")
    fake.add_argument("--url", help="post to this running receiver (e.g. http://127.0.0.1:4318)")
    fake.add_argument(
        "--protocol",
        choices=("otlp", "legacy"),
        default="otlp",
        help="with --url: OTLP/HTTP day summaries, command statistics and base telemetry (default), "
        "or DevLake's legacy JSON route (the DevLake rows only)",
    )
    fake.add_argument("--api-key", help=f"the connection's API key (default ${API_KEY_ENV})")
    fake.add_argument("--concurrency", type=int, default=8)
    fake.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_db(fake)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from otlp_receiver.server import run
    from otlp_receiver.workers import prepare_database

    settings = ReceiverSettings.from_env(
        resolve_url(args.db),
        host=args.host,
        port=args.port,
        grpc_port=args.grpc_port,
        workers=args.workers,
        devlake_encryption_secret=args.devlake_encryption_secret,
        db_upgrade=args.upgrade_db,
        log_format=args.log_format,
        access_log=args.access_log,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
    )
    prepare_database(settings)
    return run(settings, log_level=args.log_level)


def _db(args: argparse.Namespace) -> int:
    engine = make_engine(resolve_url(args.db))
    try:
        if args.action == "upgrade":
            before, after = upgrade(engine)
            with engine.connect() as conn:
                warning = metrics_key_warning(conn)
            if warning:
                print(f"devtel-receiver: warning: {warning}", file=sys.stderr)
            print(
                f"upgraded from {before or 'an unversioned schema'} to {after}"
                if before != after
                else f"at {after}"
            )
        else:
            with engine.connect() as conn:
                current = current_revision(conn)
            head = head_revision()
            print(
                json.dumps({"current": current, "head": head})
                if args.json
                else f"{current or 'none'} (head: {head})"
            )
    finally:
        engine.dispose()
    return 0


def _connections(args: argparse.Namespace) -> int:
    engine = make_engine(resolve_url(args.db))
    try:
        if args.action == "create":
            issued = create_connection(engine, args.name, args.id)
        elif args.action == "rotate":
            issued = rotate_key(engine, args.id)
        elif args.action == "delete":
            delete_connection(engine, args.id)
            print(f"deleted connection {args.id}")
            return 0
        else:
            found = list_connections(engine)
            if args.json:
                print(json.dumps([{"id": c.id, "name": c.name} for c in found]))
            else:
                for c in found:
                    print(f"{c.id}\t{c.name}")
            return 0
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({"id": issued.id, "name": issued.name, "api_key": issued.api_key}))
    else:
        print(f"connection {issued.id} ({issued.name})")
        print(f"api key (shown once, store it now): {issued.api_key}")
    return 0


def _report(removed: Removed, as_json: bool, what: str) -> None:
    if as_json:
        print(json.dumps(removed.counts, sort_keys=True))
        return
    print(f"{what}: {removed.total} row(s) deleted")
    for table, count in sorted(removed.counts.items()):
        print(f"  {table}: {count}")


def _forget(args: argparse.Namespace) -> int:
    if args.connection < 1:
        raise UsageError(f"--connection must be a connection id (1 or more), got {args.connection}")
    engine = make_engine(resolve_url(args.db))
    try:
        removed = forget(engine, args.connection, args.developer)
    finally:
        engine.dispose()
    _report(removed, args.json, f"forgot {args.developer!r} on connection {args.connection}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    ai_days = args.ai_older_than if args.ai_older_than is not None else ai_retention_days()
    engine = make_engine(resolve_url(args.db))
    try:
        removed = prune(engine, older_than_days=args.older_than, ai_older_than_days=ai_days)
    finally:
        engine.dispose()
    what = f"the AI tables older than {min(ai_days, args.older_than or ai_days)} days"  # the stricter wins
    if args.older_than:
        what = f"every table older than {args.older_than} days, {what}"
    _report(removed, args.json, f"pruned {what}")
    return 0


def _fake(args: argparse.Namespace) -> int:
    if args.developers < 1 or args.weeks < 1:
        raise UsageError("--developers and --weeks must be at least 1")
    if not args.url and not args.db:
        target = resolve_url(None)
        raise UsageError(
            f"say where the fake team goes: --url of a running receiver, or --db (for instance "
            f"--db {target}, the default database a receiver started here would use)"
        )
    needs_connection = args.db or args.protocol == "legacy"
    if needs_connection and args.connection is None:
        raise UsageError("--connection is required with --db and with --protocol legacy")
    team = {"connection_id": args.connection or 0, "seed": args.seed, "end": args.end}
    days = list(generate_days(args.developers, args.weeks, **team))
    installs = generate_installs(args.developers, args.weeks, seed=args.seed, end=args.end)
    ai = [] if args.no_ai else ai_requests(days, args.seed)
    if args.url:
        api_key = args.api_key or os.environ.get(API_KEY_ENV)
        if not api_key:
            raise UsageError(f"--url needs --api-key or ${API_KEY_ENV}")
        common = {
            "url": args.url,
            "api_key": api_key,
            "concurrency": args.concurrency,
            "progress": not args.quiet,
        }
        if args.protocol == "otlp":
            post_otlp(days, installs, ai=ai, **common)
        else:
            post_legacy([d.row for d in days], connection_id=args.connection, **common)
        print(f"posted {len(days)} developer-days to {args.url} via {args.protocol}")
        return 0
    engine = make_engine(resolve_url(args.db))
    try:
        written = write_team(
            days, installs, engine, connection_id=args.connection, ai=ai, progress=not args.quiet
        )
    finally:
        engine.dispose()
    print(f"wrote {written} developer-days for {args.developers} developers")
    return 0


def configure_logging() -> None:
    logs.configure("text")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging()
    handlers = {
        "serve": _serve,
        "connections": _connections,
        "db": _db,
        "forget": _forget,
        "prune": _prune,
        "fake": _fake,
    }
    try:
        return handlers[args.command](args)
    except (UsageError, SettingsError, BridgeError, ValueError) as exc:
        print(f"devtel-receiver: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a database file or directory that cannot be made, say
        print(
            f"devtel-receiver: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 2
    except sa.exc.DBAPIError as exc:
        print(f"devtel-receiver: error: database: {exc.orig}", file=sys.stderr)
        return 1
    except (PostFailed, httpx.HTTPError) as exc:
        print(f"devtel-receiver: error: {exc}", file=sys.stderr)
        return 1
