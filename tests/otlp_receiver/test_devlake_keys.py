"""devtel on DevLake's own database: DevLake's keys and connections work unchanged, read-only.

DevLake's tables are created by tests/testdata/devlake_plugin_tables.sql; its keys are hashed
here with hmac/hashlib exactly as DevLake hashes them, not with devtel's code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bridge.errors import ConnectionIdTaken
from bridge.store import connections
from bridge.store.database import make_engine
from tests.otlp_receiver.test_devlake_collector import collector_body
from tests.support.processes import RunningReceiver, create_connection, receiver_cli, start_receiver

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
ENCRYPTION_SECRET = "Zm9yIHRlc3RzIG9ubHk_devlake-ENCRYPTION_SECRET-" + "x" * 20
INSERT_KEY = (
    "INSERT INTO _devlake_api_keys (name, api_key, allowed_path, type, extra, expired_at, created_at)"
    " VALUES (%s, %s, %s, 'plugin:developer_telemetry', %s, %s, NOW(3))"
)
REPORT = "/api/rest/plugins/developer_telemetry/connections/{}/report"


def plaintext_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(128))


def devlake_hash(key: str) -> str:
    return hmac.new(ENCRYPTION_SECRET.encode(), key.encode(), hashlib.sha256).hexdigest()


@dataclass
class DevLakeDb:
    url: str
    keys: dict[str, str]  # label -> plaintext

    def query(self, sql: str) -> list[tuple]:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]


@pytest.fixture(scope="module")
def devlake_db(mysql_url: str) -> Iterator[DevLakeDb]:
    """A fresh database holding DevLake's plugin tables, two connections and their keys."""
    name = f"devlake_{secrets.token_hex(5)}"
    admin = sa.create_engine(mysql_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    url = sa.engine.make_url(mysql_url).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    keys = {"conn2": plaintext_key(), "conn1": plaintext_key(), "expired": plaintext_key()}
    past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
    with engine.begin() as conn:
        for statement in (TESTDATA / "devlake_plugin_tables.sql").read_text().split("\n;\n"):
            conn.exec_driver_sql(statement)
        for cid, cname in ((1, "Old Team"), (2, "Engineering Team Telemetry")):
            conn.exec_driver_sql(
                "INSERT INTO _tool_developer_telemetry_connections (id, name, created_at)"
                " VALUES (%s, %s, NOW(3))",
                (cid, cname),
            )
        for label, cid, expired in (("conn1", 1, None), ("conn2", 2, None), ("expired", 2, past)):
            conn.exec_driver_sql(
                INSERT_KEY,
                (
                    f"developer_telemetry-{cid}" if label != "expired" else "developer_telemetry-2-old",
                    devlake_hash(keys[label]),
                    f"/plugins/developer_telemetry/connections/{cid}/.*",
                    f"connectionId:{cid}",
                    expired,
                ),
            )
    engine.dispose()
    yield DevLakeDb(url, keys)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
    admin.dispose()


@pytest.fixture(scope="module")
def on_devlake(devlake_db: DevLakeDb, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    tables_before = {t: devlake_db.query(f"SHOW CREATE TABLE {t}") for t in DEVLAKE_TABLES}
    receiver = start_receiver(
        devlake_db.url,
        tmp_path_factory.mktemp("on-devlake"),
        extra_env={"DEVTEL_DEVLAKE_ENCRYPTION_SECRET": ENCRYPTION_SECRET},
    )
    yield receiver
    assert receiver.stop() == 0, receiver.log()
    assert ENCRYPTION_SECRET not in receiver.log()
    assert {t: devlake_db.query(f"SHOW CREATE TABLE {t}") for t in DEVLAKE_TABLES} == tables_before


DEVLAKE_TABLES = ("_tool_developer_metrics", "_tool_developer_telemetry_connections", "_devlake_api_keys")


def post(receiver: RunningReceiver, path: str, key: str, developer: str) -> httpx.Response:
    body = collector_body(developer=developer)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "DevLake-Telemetry-Collector/1.0",
        "Authorization": f"Bearer {key}",
    }
    return httpx.post(receiver.url + path, content=json.dumps(body).encode(), headers=headers, timeout=30)


def test_devlake_key_posts_the_collector_report_into_devlakes_text_table(
    on_devlake: RunningReceiver, devlake_db: DevLakeDb
) -> None:
    response = post(on_devlake, REPORT.format(2), devlake_db.keys["conn2"], "dl.user")
    assert response.status_code == 200, response.text
    body = collector_body()
    ((connection_id, project_context, tools),) = devlake_db.query(
        "SELECT connection_id, project_context, tools_used FROM _tool_developer_metrics"
        " WHERE developer_id = 'dl.user'"
    )
    assert connection_id == 2
    # The JSON array of strings as Go's encoding/json writes []string: compact, as sent.
    assert project_context == json.dumps(sorted(body["metrics"]["projects"]), separators=(",", ":"))
    assert json.loads(tools) == sorted(body["metrics"]["tools_used"])


@pytest.mark.parametrize(
    "path",
    [
        "/rest/plugins/developer_telemetry/connections/2/report",
        "/plugins/developer_telemetry/connections/2/report",
    ],
)
def test_backend_direct_paths_take_the_same_key(
    on_devlake: RunningReceiver, devlake_db: DevLakeDb, path: str
) -> None:
    response = post(on_devlake, path, devlake_db.keys["conn2"], "backend.user")
    assert response.status_code == 200, response.text
    assert post(on_devlake, path, plaintext_key(), "backend.user").status_code == 401


def test_devlakes_403_answers(on_devlake: RunningReceiver, devlake_db: DevLakeDb) -> None:
    expired = post(on_devlake, REPORT.format(2), devlake_db.keys["expired"], "refused.user")
    assert (expired.status_code, expired.json()["message"]) == (403, "api key has expired")
    wrong = post(on_devlake, REPORT.format(2), devlake_db.keys["conn1"], "refused.user")
    assert (wrong.status_code, wrong.json()["message"]) == (403, "path doesn't match api key's scope")
    assert post(on_devlake, REPORT.format(2), plaintext_key(), "refused.user").status_code == 401
    otlp = httpx.post(
        on_devlake.url + "/v1/metrics",
        content=b"",
        headers={
            "Authorization": f"Bearer {devlake_db.keys['conn2']}",
            "Content-Type": "application/x-protobuf",
        },
    )
    assert otlp.status_code == 403  # DevLake scopes its keys to the plugin's paths
    assert devlake_db.query("SELECT * FROM _tool_developer_metrics WHERE developer_id = 'refused.user'") == []


def test_devtel_connection_takes_devlakes_next_id_and_never_one_of_devlakes(
    on_devlake: RunningReceiver, devlake_db: DevLakeDb
) -> None:
    taken = receiver_cli(
        "connections", "create", "--name", "x", "--id", "2", db_url=devlake_db.url, check=False
    )
    assert taken.returncode == 2 and "DevLake's own connection" in taken.stderr, taken.stderr
    (devlake_max,) = devlake_db.query("SELECT MAX(id) FROM _tool_developer_telemetry_connections")[0]
    connection_id, key = create_connection(devlake_db.url, "devtel-team")
    assert connection_id == devlake_max + 1
    response = httpx.post(
        on_devlake.url + REPORT.format(connection_id),
        content=json.dumps(collector_body(developer="devtel.key")).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    # A devtel key on DevLake's connection is refused as another connection's key.
    assert post(on_devlake, REPORT.format(2), key, "devtel.key").status_code == 403


def test_without_the_secret_devlake_keys_are_unknown(devlake_db: DevLakeDb, tmp_path: Path) -> None:
    receiver = start_receiver(devlake_db.url, tmp_path)
    try:
        assert post(receiver, REPORT.format(2), devlake_db.keys["conn2"], "nosecret.user").status_code == 401
    finally:
        assert receiver.stop() == 0


def test_sqlite_never_reissues_a_deleted_connections_id(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'ids.db'}"
    engine = make_engine(db_url)
    first, second = (connections.create_connection(engine, name).id for name in ("first", "second"))
    connections.delete_connection(engine, second)
    assert connections.create_connection(engine, "third").id == second + 1
    with pytest.raises(ConnectionIdTaken, match="never"):
        connections.create_connection(engine, "again", second)
    assert connections.create_connection(engine, "migrated", 40).id == 40
    assert connections.create_connection(engine, "after").id == 41
    engine.dispose()
    assert first == 1
    reused = receiver_cli(
        "connections", "create", "--name", "cli", "--id", str(second), db_url=db_url, check=False
    )
    assert reused.returncode == 2 and "never" in reused.stderr, reused.stderr
