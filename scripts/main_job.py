#!/usr/bin/env python3
"""The main job, end to end on the embedded SQLite default, leaving nothing running.

Starts the receiver on a fresh SQLite file, creates a connection with the real CLI,
sends a generated team through the HTTP route, prints what was stored per developer,
and stops the receiver cleanly. `make demo` runs it.
"""

from __future__ import annotations

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


def main() -> int:
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
        developers = print_summary(db_url, created["id"])
    finally:
        receiver.send_signal(signal.SIGTERM)
        code = receiver.wait(timeout=30)
    if code != 0:
        sys.exit(f"main job: the receiver stopped with exit code {code}:\n{log.read_text()}")
    print("receiver stopped cleanly\n")
    print("Next steps:")
    print("  - point Grafana at the data: grafana/ (dashboards and provisioning), docs/dashboards.md")
    print("  - switch to MySQL/MariaDB: devtel-receiver serve --db mysql+pymysql://user:pass@host/devlake")
    print("  - install the agent on a laptop: pip install 'devtel[agent]'; devtel-agent install")
    return 0 if developers else 1


if __name__ == "__main__":
    sys.exit(main())
