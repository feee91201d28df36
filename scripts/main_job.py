#!/usr/bin/env python3
"""The main job, end to end on the embedded SQLite default, leaving nothing running.

Starts the receiver on a fresh SQLite file, creates a connection with the real CLI, runs the
real agent over this machine's activity (its git repositories under the checkout's parent
directory, two levels deep, the shell commands its hook recorded where one is installed, and
whatever else the collectors read) and sends a generated team,
all over OTLP; prints what was stored per developer and day, checks this machine's days against
the agent's own record, and stops the receiver cleanly. It ends by writing this machine's
developer's own week as a page (`devtel-agent report --html`) and printing where it is.
`make demo` runs it.

The agent runs with a DEVTEL_HOME and configuration of its own under .devtel-demo/: the user's
agent config, state, managed policy, legacy config.json and OTEL_* variables are neither read
nor changed, and it sends only to the receiver started here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
WORKDIR = ROOT / ".devtel-demo"
AGENT_DAYS = 7  # this machine's last week
KILL_SWITCHES = {"DO_NOT_TRACK": "1", "DEVTEL_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "true"}


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "otlp_receiver", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"main job: `devtel-receiver {args[0]}` failed:\n{done.stderr}")
    return done.stdout


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"main job: the receiver exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit(f"main job: the receiver did not start:\n{log.read_text()}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def agent_env(url: str, api_key: str, roots: list[Path], depth: int) -> dict[str, str]:
    """An isolated agent install that collects from ``roots`` and sends only to ``url``."""
    home, config = WORKDIR / "agent-home", WORKDIR / "agent.toml"
    home.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[collectors]\n"
        f"roots = {json.dumps([str(r) for r in roots])}\n"
        f"depth = {depth}\n"
        '[sinks.demo]\ntype = "otlp"\n'
        f'endpoint = "{url}"\n'
        f'[sinks.demo.headers]\nAuthorization = "Bearer {api_key}"\n'
    )
    config.chmod(0o600)
    lines = copy_shell_spool(home)
    print(
        f"agent: {lines} shell command line(s) from this machine's hook spool"
        if lines
        else "agent: no shell hook spool here (devtel-agent hook bash|zsh|fish installs one)"
    )
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DEVTEL_"))}
    return {
        **inherited,
        "DEVTEL_HOME": str(home),
        "DEVTEL_CONFIG": str(config),
        "DEVTEL_POLICY": str(WORKDIR / "no-policy.toml"),
        "DEVTEL_LEGACY_CONFIG": str(WORKDIR / "no-legacy-config.json"),
        "DEVTEL_SERVICE_DIR": str(WORKDIR / "service"),
    }


def copy_shell_spool(home: Path) -> int:
    """Where the shell hook is installed, a copy of what it recorded (the user's spool stays as it is).

    Commands the user's own agent already drained from the spool are in its store, not copied.
    """
    from agent.shell.spool import ROTATED_FILE, SPOOL_FILE

    real = Path(os.environ.get("DEVTEL_HOME") or Path.home() / ".local/state/devtel")
    copied = 0
    for name in (ROTATED_FILE, SPOOL_FILE):
        try:
            data = (real / name).read_bytes()
        except OSError:
            continue
        with (home / SPOOL_FILE).open("ab") as spool:
            spool.write(data)
        (home / SPOOL_FILE).chmod(0o600)
        copied += data.count(b"\n")
    return copied


def run_agent(env: dict[str, str], days: int) -> str | None:
    """Opt in (this install only) and collect the last ``days`` days; the developer id, or None."""
    for args in (("consent", "detailed"), ("collect", "--days", str(days))):
        done = subprocess.run(
            [sys.executable, "-m", "agent", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            print(f"agent: `devtel-agent {' '.join(args)}` failed: {done.stderr.strip()}")
            return None
        print(f"agent: {done.stdout.strip()}")
    from agent.pipeline import Agent

    return Agent(env).identity().developer_id


ROW_FIELDS = ("active_hours", "git_activity", "development_activity", "tools_used", "project_context")


def check_agent_days(env: dict[str, str], db_url: str, connection_id: int, developer: str, days: int) -> bool:
    """Every day the agent collected is stored exactly as the agent has it, field by field."""
    from agent.emit import private_day
    from agent.store import DayStore

    store = DayStore(Path(env["DEVTEL_HOME"]))
    today = dt.date.today()
    engine = sa.create_engine(db_url)
    mismatches, checked = [], 0
    with engine.connect() as conn:
        for n in range(days):
            day = store.load(today - dt.timedelta(days=n))
            if day is None:
                continue
            checked += 1
            want = private_day(day, allow_paths=False).to_devlake()
            row = (
                conn.execute(
                    sa.text(
                        f"SELECT {', '.join(ROW_FIELDS)} FROM _tool_developer_metrics"
                        " WHERE connection_id = :c AND developer_id = :d AND date = :t"
                    ),
                    {"c": connection_id, "d": developer, "t": day.date.isoformat()},
                )
                .mappings()
                .first()
            )
            if row is None:
                mismatches.append(f"{day.date}: not stored")
                continue
            got = {k: json.loads(v) if isinstance(v, str) else v for k, v in row.items()}
            differing = [k for k in ROW_FIELDS if got[k] != want[k]]
            if differing:
                mismatches.append(f"{day.date}: {', '.join(differing)} differ")
    engine.dispose()
    if mismatches:
        print(f"agent: {len(mismatches)} of {checked} day(s) differ: {'; '.join(mismatches)}")
        return False
    print(f"agent: all {checked} day(s) it collected are stored exactly as it has them")
    return True


PER_DAY = """
SELECT developer_id, date, active_hours, JSON_EXTRACT(git_activity, '$.total_commits') AS commits
FROM _tool_developer_metrics WHERE connection_id = :connection AND date >= :since
"""


def print_per_day(db_url: str, connection_id: int, first: str | None, days: int = 7) -> None:
    """Active hours / commits per developer (rows) and day (columns), the last ``days`` days."""
    dates = [dt.date.today() - dt.timedelta(days=n) for n in reversed(range(days))]
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(PER_DAY), {"connection": connection_id, "since": str(dates[0])}).all()
    engine.dispose()
    cells: dict[str, dict[str, str]] = {}
    for row in rows:
        cells.setdefault(row.developer_id, {})[str(row.date)] = f"{row.active_hours}h/{row.commits or 0}c"
    order = sorted(cells, key=lambda d: (d != first, d))
    print("\nactive hours / commits per developer and day (- = no row)")
    print(f"{'developer':<22}" + "".join(f"{d.strftime('%a %d'):>10}" for d in dates))
    for developer in order:
        mark = " *" if developer == first else ""
        line = "".join(f"{cells[developer].get(str(d), '-'):>10}" for d in dates)
        print(f"{(developer + mark)[:22]:<22}{line}")
    if first:
        print("* this machine, collected by the agent")


SUMMARY = """
SELECT developer_id,
       COUNT(*) AS days,
       SUM(active_hours) AS hours,
       SUM(JSON_EXTRACT(git_activity, '$.total_commits')) AS commits,
       SUM(JSON_EXTRACT(git_activity, '$.total_lines_added')) AS lines_added,
       SUM(JSON_EXTRACT(development_activity, '$.test_runs_detected')) AS tests,
       SUM(JSON_EXTRACT(development_activity, '$.build_commands_detected')) AS builds
FROM _tool_developer_metrics WHERE connection_id = :connection
GROUP BY developer_id ORDER BY hours DESC
"""


def print_summary(db_url: str, connection_id: int) -> int:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(SUMMARY), {"connection": connection_id}).all()
    engine.dispose()
    header = ("developer", "days", "active h", "commits", "lines +", "tests", "builds")
    print("\n" + "  ".join(f"{h:>10}" if i else f"{h:<22}" for i, h in enumerate(header)))
    for row in rows:
        print("  ".join(f"{v:>10}" if i else f"{v:<22}" for i, v in enumerate(row)))
    print(f"\n{len(rows)} developers, {sum(r.days for r in rows)} developer-days stored in {db_url}")
    return len(rows)


def write_own_week(env: dict[str, str]) -> Path | None:
    """This machine's developer's own week as one page (`devtel-agent report --html`), from the
    demo install's local stores; returns where it is, or None when the report failed."""
    page = WORKDIR / "my-week.html"
    done = subprocess.run(
        [sys.executable, "-m", "agent", "report", "--week", "--json", "--html", str(page)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"agent: `devtel-agent report` failed: {done.stderr.strip()}")
        return None
    report = json.loads(done.stdout)
    print("Your own week on this machine (devtel-agent report), its top chokepoints:")
    for line in report["chokepoints"] or ["none: no test or build runs recorded this week"]:
        print(f"  - {line}")
    print(f"Your week as a page (no network needed, open it in any browser): {page}")
    return page


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="devtel's main job, end to end on SQLite")
    parser.add_argument(
        "--root",
        type=Path,
        action="append",
        help="where the agent looks for git repositories (default: the checkout's parent directory)",
    )
    parser.add_argument("--depth", type=int, default=2, help="how deep under each root (default 2)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    roots = args.root or [ROOT.parent]
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir()
    db_url = f"sqlite:///{WORKDIR / 'devtel.db'}"
    env = {**os.environ, "DEVTEL_DB_URL": db_url}

    created = json.loads(cli("connections", "create", "--name", "demo", "--json", env=env))
    print(f"created connection {created['id']} ({created['name']}); its API key stays in this process")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = WORKDIR / "receiver.log"
    with log.open("wb") as out:
        receiver = subprocess.Popen(
            [sys.executable, "-m", "otlp_receiver", "serve", "--port", str(port), "--grpc-port", "0"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(url, receiver, log)
        print(f"receiver up at {url}")
        switched = [k for k, v in KILL_SWITCHES.items() if os.environ.get(k, "").lower() == v]
        developer, env = None, agent_env(url, created["api_key"], roots, args.depth)
        if switched:
            print(f"agent: skipped, {switched[0]} is set (it stops every send)")
        else:
            print(
                f"agent: collecting this machine's last {AGENT_DAYS} days under {', '.join(map(str, roots))}"
            )
            developer = run_agent(env, AGENT_DAYS)
        post_env = {**env, "DEVTEL_API_KEY": created["api_key"]}
        print(
            cli(
                "fake",
                "--developers",
                "15",
                "--weeks",
                "6",
                "--url",
                url,
                "--connection",
                str(created["id"]),
                env=post_env,
            ).strip()
        )
        print_per_day(db_url, created["id"], developer)
        developers = print_summary(db_url, created["id"])
        agent_ok = developer is None or check_agent_days(env, db_url, created["id"], developer, AGENT_DAYS)
    finally:
        receiver.send_signal(signal.SIGTERM)
        code = receiver.wait(timeout=30)
    if code != 0:
        sys.exit(f"main job: the receiver stopped with exit code {code}:\n{log.read_text()}")
    print("receiver stopped cleanly\n")
    print("Next steps:")
    print("  - point Grafana at the data: provision grafana/ (datasources, dashboards, alert rules) against")
    print("    DevLake's MySQL, as docs/dashboards.md describes")
    print("  - switch to MySQL/MariaDB: devtel-receiver serve --db mysql+pymysql://user:pass@host/devlake")
    print("  - install the agent as a service on each laptop: pipx install '.[agent]' here; point a sink at")
    print(
        "    the receiver in ~/.config/devtel/agent.toml; devtel-agent consent detailed; devtel-agent install"
    )
    print(
        f"  - what this run stored and logged stays in {WORKDIR.relative_to(ROOT)}/ (make clean removes it)"
    )
    page = write_own_week(env)
    return 0 if developers and agent_ok and page else 1


if __name__ == "__main__":
    sys.exit(main())
