"""Security properties, checked on the real parts: keys hashed at rest, compared in constant time,
a key writes only to its own connection, and no key or secret reaches a log line (receiver at
debug level, the agent with every Python logger at debug)."""

from __future__ import annotations

import ast
import base64
import datetime as dt
import hashlib
import hmac
import json
import signal
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from bridge.schema.tables import KEY_SECRET_SETTING
from bridge.store.database import make_engine
from tests.reliability.conftest import snapshot, stored_rows, wait_until_exact
from tests.support.otlp import DayFigures, developer_resource, metrics_request
from tests.support.processes import ROOT, create_connection, receiver_cli, start_receiver

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
PROTOBUF = {"Content-Type": "application/x-protobuf"}
LEGACY = "/api/rest/plugins/developer_telemetry/connections/{}/report"


def _dump(db_url: str) -> str:
    """Every value in every table, as text: what someone with a copy of the database can read."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return "\n".join(
                repr(tuple(row))
                for table in sa.inspect(conn).get_table_names()
                for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
            )
    finally:
        engine.dispose()


def _key_secret(db_url: str) -> str:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT value FROM _devtel_settings WHERE name = :n"), {"n": KEY_SECRET_SETTING}
            ).scalar_one()
    finally:
        engine.dispose()


def test_api_keys_are_stored_only_as_keyed_hashes(db_url: str) -> None:
    first_id, first_key = create_connection(db_url, "hashed-a")
    second_id, old_key = create_connection(db_url, "hashed-b")
    rotated = json.loads(
        receiver_cli("connections", "rotate", str(second_id), "--json", db_url=db_url).stdout
    )
    dump = _dump(db_url)
    for key in (first_key, old_key, rotated["api_key"]):
        assert key not in dump
    secret = bytes.fromhex(_key_secret(db_url))
    expected = hmac.new(secret, first_key.encode(), hashlib.sha256).hexdigest()
    assert f"({first_id}, " in dump and expected in dump  # the row holds HMAC-SHA256(secret, key)


def test_keys_are_compared_in_constant_time() -> None:
    """No ``==``/``!=``/``in`` on a key, hash or digest anywhere in the server side; compare_digest used."""
    suspicious = ("api_key", "digest", "key_hash", "token", "secret")
    offenders, constant_time = [], 0
    for path in sorted([*ROOT.glob("otlp_receiver/**/*.py"), *ROOT.glob("bridge/**/*.py")]):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in (
                "hmac.compare_digest",
                "secrets.compare_digest",
            ):
                constant_time += 1
            if isinstance(node, ast.Compare) and any(
                isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops
            ):
                text = ast.unparse(node)
                if any(word in text for word in suspicious) and "KEY_SECRET_SETTING" not in text:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text}")
    assert not offenders, offenders
    assert constant_time >= 1


def test_a_key_writes_only_to_its_own_connection(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'receiver.db'}"
    mine, my_key = create_connection(db_url, "mine")
    theirs, their_key = create_connection(db_url, "theirs")
    receiver = start_receiver(db_url, tmp_path)
    try:
        body = metrics_request(DayFigures("2026-05-01").active_hours(3), developer_resource("dev.b", "i"))
        with httpx.Client(base_url=receiver.url, timeout=30) as client:
            ok = client.post(
                "/v1/metrics", content=body, headers={**PROTOBUF, "Authorization": f"Bearer {their_key}"}
            )
            assert ok.status_code == 200, ok.text
            before = stored_rows(db_url, theirs)
            legacy = json.loads((TESTDATA / "seed_report.json").read_text())
            cross_legacy = client.post(
                LEGACY.format(theirs), json=legacy, headers={"Authorization": f"Bearer {my_key}"}
            )
            basic = base64.b64encode(f"{theirs}:{my_key}".encode()).decode()
            cross_basic = client.post(
                "/v1/metrics", content=body, headers={**PROTOBUF, "Authorization": f"Basic {basic}"}
            )
        assert cross_legacy.status_code == 403, cross_legacy.text
        assert cross_basic.status_code == 401, cross_basic.text
        assert stored_rows(db_url, theirs) == before  # nothing changed under the other connection
        assert stored_rows(db_url, mine) == {}
    finally:
        receiver.stop()


def test_no_key_or_secret_in_any_log_line(tmp_path: Path, install) -> None:
    db_url = f"sqlite:///{tmp_path / 'receiver.db'}"
    connection_id, key = create_connection(db_url, "logs")
    _, other_key = create_connection(db_url, "other")
    receiver = start_receiver(db_url, tmp_path, extra_args=("--log-level", "debug"))
    wrong_key = "Z" * 128  # well-formed, unknown: refused, and must not be echoed either
    agent = install("logs.dev", receiver.url, key)
    config = Path(agent.env["DEVTEL_CONFIG"])
    config.write_text(
        config.read_text() + f'[sinks.wrong]\ntype = "otlp"\nendpoint = "{receiver.url}"\n'
        f'[sinks.wrong.headers]\nAuthorization = "Bearer {wrong_key}"\n'
        f'[sinks.legacy]\ntype = "devlake"\nurl = "{receiver.url}{LEGACY.format(connection_id)}"\n'
        f'api_key = "{key}"\n'
    )
    agent.save(snapshot(dt.date.today(), 6))
    debug_agent = (
        "import logging, sys; logging.basicConfig(level=logging.DEBUG);"
        " from agent.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    outputs = []
    try:
        runner = agent.spawn("run", code=debug_agent)
        result, _ = wait_until_exact(agent.truth, lambda: stored_rows(db_url, connection_id), timeout=60)
        assert result.exact, result
        time.sleep(1)  # the wrong-key sink has met its 401 by now
        runner.stop(signal.SIGTERM)
        for command in (("status", "--json"), ("preview",), ("flush",)):
            done = agent.cli(*command)
            outputs.append(done.stdout + done.stderr)
        with httpx.Client(base_url=receiver.url, timeout=30) as client:  # refusals of every kind
            client.post(
                LEGACY.format(connection_id), content=b"{", headers={"Authorization": f"Bearer {key}"}
            )
            client.post(
                "/v1/metrics", content=b"\x00", headers={**PROTOBUF, "Authorization": f"Bearer {key}"}
            )
            client.post(
                LEGACY.format(connection_id), json={}, headers={"Authorization": f"Bearer {other_key}"}
            )
            client.post("/v1/logs", content=b"", headers={"Authorization": f"Bearer {wrong_key}"})
    finally:
        receiver.stop()
    logs = "\n".join([receiver.log(), (agent.root / "agent.log").read_text(errors="replace"), *outputs])
    assert "HTTP 401" in logs and "DEBUG" in logs, "the logs did not capture what the test expected"
    secret = _key_secret(db_url)
    basic = base64.b64encode(f"{connection_id}:{key}".encode()).decode()
    for name, value in {
        "key": key,
        "other key": other_key,
        "wrong key": wrong_key,
        "basic": basic,
        "hmac secret": secret,
    }.items():
        leaked = [line for line in logs.splitlines() if value in line]
        assert not leaked, f"the {name} appears in {len(leaked)} log line(s): {leaked[0][:200]}"
