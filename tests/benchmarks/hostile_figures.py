"""The hostile-network figures (issue #16): prints one table, asserts nothing about time.

    .venv/bin/python -m tests.benchmarks.hostile_figures [--cases 10000] [--before DIR]

Against real receivers on a fresh MariaDB database each (DEVTEL_TEST_MYSQL_URL, else the local
server): the generated hostile corpus per route (5xx, and rows changed by rejected requests), one
poison client among 16 honest ones, /healthz beside 1,000 idle sockets and beside one 10 MB
request, OTLP/HTTP throughput at 64 clients with TLS on and off, and the same throughput for the
tree before this issue (``--before``: a `git archive` of 4ecc936 unpacked in DIR).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bridge.store.database import make_engine
from tests.reliability.hostile import (
    Target,
    legacy_body,
    legacy_cases,
    otlp_cases,
    rows_by_tag,
    send_cases,
)
from tests.support.otlp import DayFigures, developer_resource, metrics_request
from tests.support.processes import ROOT, RunningReceiver, create_connection, start_receiver

SERVER_URL = "mysql+pymysql://root@127.0.0.1:3306"
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@contextlib.contextmanager
def database() -> Iterator[str]:
    name = f"devtel_fig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(SERVER_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        yield f"{SERVER_URL}/{name}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


@contextlib.contextmanager
def receiver(workdir: Path, source: Path = ROOT, **options: Any) -> Iterator[tuple[RunningReceiver, Target]]:
    with database() as url:
        connection_id, api_key = create_connection(url, "figures", source=source)
        running = start_receiver(url, workdir, source=source, **options)
        try:
            yield running, Target(connection_id, api_key)
        finally:
            running.stop()


def corpus(workdir: Path, count: int) -> list[tuple[str, str]]:
    rows = []
    with receiver(workdir) as (running, target):
        for route, generate in (("legacy", legacy_cases), ("OTLP/HTTP", otlp_cases)):
            statuses = asyncio.run(send_cases(running.url, generate(target, count), 16))
            engine = make_engine(running.db_url)
            stored = rows_by_tag(engine)
            engine.dispose()
            rejected = {tag for tag, status in statuses.items() if status >= 400 or status == 0}
            changed = sum(stored.get(tag, 0) for tag in rejected)
            by_status = Counter(statuses.values())
            fives = sum(n for status, n in by_status.items() if status >= 500)
            summary = ", ".join(f"{s or 'closed'}: {n}" for s, n in sorted(by_status.items()))
            rows.append((f"5xx over {len(statuses)} hostile requests, {route} ({summary})", str(fives)))
            rows.append((f"rows changed by the {len(rejected)} rejected {route} requests", str(changed)))
    return rows


def poison(workdir: Path, seconds: float = 10.0) -> list[tuple[str, str]]:
    with receiver(workdir) as (running, target):
        path = f"/api/rest/plugins/developer_telemetry/connections/{target.connection_id}/report"
        headers = {**target.bearer(), "Content-Type": "application/json"}
        failed = Counter()
        sent = Counter()

        async def run() -> None:
            stop = time.monotonic() + seconds
            async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:

                async def honest(n: int) -> None:
                    day = 0
                    while time.monotonic() < stop:
                        body = legacy_body(f"p{n:02d}x{day}-")
                        answer = await client.post(path, content=json.dumps(body).encode(), headers=headers)
                        sent["honest"] += 1
                        failed["honest"] += answer.status_code != 200
                        day += 1

                async def bad() -> None:
                    for case in legacy_cases(target, 10**6, seed=99):
                        if time.monotonic() >= stop:
                            return
                        answer = await client.post(case.path, content=case.body, headers=case.headers)
                        sent["poison"] += 1
                        failed["poison 5xx"] += answer.status_code >= 500

                await asyncio.gather(bad(), *(honest(n) for n in range(16)))

        asyncio.run(run())
    return [
        (f"honest requests failed, poison client among 16 for {seconds:.0f} s ({sent['honest']} honest sent)",
         str(failed["honest"])),
        (f"poison requests answered 5xx ({sent['poison']} sent)", str(failed["poison 5xx"])),
    ]  # fmt: skip


def _probe(url: str, count: int, pause: float) -> tuple[int, list[float]]:
    ok, latencies = 0, []
    with httpx.Client(timeout=10) as client:
        for _ in range(count):
            started = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                ok += client.get(url).status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(pause)
    return ok, latencies


def idle_sockets(workdir: Path, sockets: int = 1000) -> list[tuple[str, str]]:
    with receiver(workdir) as (running, _):
        opened = []
        for _ in range(sockets):
            opened.append(socket.create_connection(("127.0.0.1", running.port)))
        try:
            ok, latencies = _probe(running.url + "/healthz", 500, 0.005)
        finally:
            for sock in opened:
                sock.close()
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return [
        (
            f"/healthz success and p99 beside {sockets} idle sockets",
            f"{ok / len(latencies):.1%}, {p99:.1f} ms",
        )
    ]


def _ten_megabytes(fmt: str) -> bytes:
    """An OTLP metrics request of about 10 MB within the request limits, as JSON or protobuf
    (protobuf is denser, so its repository names are longer)."""
    figures = DayFigures("2026-03-02")
    pad = 120 if fmt == "JSON" else 760
    for n in range(2_900):
        figures.repository(f"repository-{n:05d}-" + "r" * pad, 1, 2, 3, 4)
    raw = metrics_request(figures, developer_resource("big.request", "big"))
    if fmt != "JSON":
        return raw
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    return json_format.MessageToJson(ExportMetricsServiceRequest.FromString(raw)).encode()


# Sends one request from its own process, so the probes measure the receiver, not this process.
_SENDER = """
import sys, httpx
body = open(sys.argv[2], "rb").read()
headers = {"Authorization": sys.argv[3], "Content-Type": sys.argv[4]}
print(httpx.post(sys.argv[1], content=body, headers=headers, timeout=300).status_code)
"""


def big_request(workdir: Path) -> list[tuple[str, str]]:
    rows = []
    for fmt, content_type in (("JSON", "application/json"), ("protobuf", "application/x-protobuf")):
        with receiver(workdir) as (running, target):
            body_file = workdir / "big.body"
            body_file.write_bytes(_ten_megabytes(fmt))
            latencies: list[float] = []
            with httpx.Client(timeout=10) as client:
                client.get(running.url + "/healthz")
                sender = subprocess.Popen(
                    [sys.executable, "-c", _SENDER, running.url + "/v1/metrics", str(body_file),
                     target.bearer()["Authorization"], content_type],
                    stdout=subprocess.PIPE, text=True,
                )  # fmt: skip
                while sender.poll() is None:
                    started = time.perf_counter()
                    client.get(running.url + "/healthz")
                    latencies.append(time.perf_counter() - started)
                status = sender.communicate()[0].strip()
        size = body_file.stat().st_size / 1e6
        rows.append(
            (f"/healthz max latency during one {size:.1f} MB OTLP/{fmt} request (answered {status}, "
             f"{len(latencies)} probes)", f"{max(latencies) * 1000:.1f} ms")
        )  # fmt: skip
    return rows


def _throughput(running: RunningReceiver, target: Target, seconds: float, verify: Any, scheme: str) -> float:
    url = f"{scheme}://127.0.0.1:{running.port}"
    headers = {**target.bearer(), **PROTOBUF}
    done = 0

    async def run() -> None:
        nonlocal done
        stop = time.monotonic() + seconds
        async with httpx.AsyncClient(base_url=url, timeout=60, verify=verify) as client:

            async def one(n: int) -> None:
                nonlocal done
                day = 0
                while time.monotonic() < stop:
                    body = metrics_request(
                        DayFigures(f"2026-01-{day % 28 + 1:02d}").active_hours(3),
                        developer_resource(f"t{n}", f"i{n}"),
                    )
                    answer = await client.post("/v1/metrics", content=body, headers=headers)
                    done += answer.status_code == 200
                    day += 1

            await asyncio.gather(*(one(n) for n in range(64)))

    asyncio.run(run())
    return done / seconds


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=figures ca")  # fmt: skip
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=x",
    )
    (directory / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext")  # fmt: skip
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


def throughput(workdir: Path, before: Path | None, seconds: float = 10.0) -> list[tuple[str, str]]:
    ca, cert, key = _certificates(workdir)
    figures: dict[str, float] = {}
    runs: list[tuple[str, Path, dict[str, Any], Any, str]] = [
        ("plain", ROOT, {}, True, "http"),
        ("tls", ROOT, {"extra_args": ("--tls-cert", str(cert), "--tls-key", str(key)), "health_url_ca": ca},
         ssl.create_default_context(cafile=str(ca)), "https"),
    ]  # fmt: skip
    if before is not None:
        runs.append(("before", before, {}, True, "http"))
    for name, source, options, verify, scheme in runs:
        with receiver(workdir, source=source, **options) as (running, target):
            figures[name] = _throughput(running, target, seconds, verify, scheme)
    rows = [
        ("OTLP/HTTP req/s at 64 clients, TLS off", f"{figures['plain']:.0f}"),
        ("OTLP/HTTP req/s at 64 clients, TLS on",
         f"{figures['tls']:.0f} ({figures['tls'] / figures['plain']:.2f}× off)"),
    ]  # fmt: skip
    if before is not None:
        rows.append(
            ("OTLP/HTTP req/s at 64 clients before this issue (4ecc936)",
             f"{figures['before']:.0f} (now {figures['plain'] / figures['before']:.2f}× before)")
        )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=10_000, help="hostile requests per route")
    parser.add_argument("--before", type=Path, help="an unpacked tree of the commit to compare with")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--only", choices=("corpus", "poison", "idle", "big", "throughput"), action="append",
        help="run only this figure (repeatable); all of them by default",
    )  # fmt: skip
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        steps = {
            "corpus": lambda: corpus(workdir, args.cases),
            "poison": lambda: poison(workdir, args.seconds),
            "idle": lambda: idle_sockets(workdir),
            "big": lambda: big_request(workdir),
            "throughput": lambda: throughput(workdir, args.before, args.seconds),
        }
        for name, step in steps.items():
            if args.only and name not in args.only:
                continue
            for row in step():
                rows.append(row)
                print(f"{row[0]}: {row[1]}", flush=True)
    width = max(len(what) for what, _ in rows)
    print(f"\n| {'what'.ljust(width)} | measured |\n|{'-' * (width + 2)}|---|")
    for what, value in rows:
        print(f"| {what.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
