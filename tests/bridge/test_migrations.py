"""Schema migrations, run as an operator runs them: from release 4ecc936's own schema and data.

Release 4ecc936 is unpacked with ``git archive`` and its own receiver makes the tables and writes
rows through its own routes; then this tree's CLI has to refuse, upgrade, and keep every row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bridge.schema.migrate import SchemaError, current_revision, ensure_schema, head_revision, upgrade
from bridge.schema.tables import metadata
from bridge.store.database import make_engine
from tests.support.processes import ROOT, create_connection, free_port, receiver_cli, start_receiver

RELEASE = "4ecc936"
TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
REPORT = "/api/rest/plugins/developer_telemetry/connections/{}/report"


@pytest.fixture(scope="module")
def release_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp(RELEASE)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", RELEASE], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def post_seed(url: str, connection_id: int, key: str, developer: str, hours: int) -> None:
    body = json.loads((TESTDATA / "seed_report.json").read_text()) | {
        "developer_id": developer,
        "active_hours": hours,
    }
    response = httpx.post(
        url + REPORT.format(connection_id),
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def serve_exit(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`serve` that is expected to refuse: it exits at once instead of listening."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "otlp_receiver",
            "serve",
            "--db",
            db_url,
            "--port",
            str(free_port()),
            "--grpc-port",
            "0",
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def metrics_rows(db_url: str) -> list[tuple]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    sa.text(
                        "SELECT connection_id, developer_id, date, active_hours, git_activity"
                        " FROM _tool_developer_metrics ORDER BY developer_id"
                    )
                )
            ]
    finally:
        engine.dispose()


def fill_with_release(db_url: str, release_tree: Path, logs: Path) -> tuple[str, int, str]:
    """A database made and filled by release 4ecc936: (url, connection id, its key)."""
    connection_id, key = create_connection(db_url, "from-release", source=release_tree)
    old = start_receiver(db_url, logs, source=release_tree)
    try:
        post_seed(old.url, connection_id, key, "Sarah.Johnson", 3)
        post_seed(old.url, connection_id, key, "test.user", 5)
    finally:
        assert old.stop() == 0, old.log()
    return db_url, connection_id, key


@pytest.fixture
def release_db(db_url: str, release_tree: Path, tmp_path: Path) -> tuple[str, int, str]:
    return fill_with_release(db_url, release_tree, tmp_path)


def test_release_schema_is_refused_then_upgraded_keeping_every_row(
    release_db: tuple[str, int, str], tmp_path: Path
) -> None:
    db_url, connection_id, key = release_db
    before = metrics_rows(db_url)
    assert len(before) == 2
    refused = serve_exit(db_url)
    assert refused.returncode == 2 and "db upgrade" in refused.stderr, refused.stderr
    current = json.loads(receiver_cli("db", "current", "--json", db_url=db_url).stdout)
    assert current["current"] is None and current["head"]
    upgraded = receiver_cli("db", "upgrade", db_url=db_url)
    assert current["head"] in upgraded.stdout
    # 4ecc936 made DevLake's table itself, under the server's case-insensitive default; devtel
    # does not alter it, but says so and how (SQLite compares bytes: nothing to say).
    assert ("compares ignoring case" in upgraded.stderr) == db_url.startswith("mysql"), upgraded.stderr
    assert (
        json.loads(receiver_cli("db", "current", "--json", db_url=db_url).stdout)["current"]
        == current["head"]
    )
    assert metrics_rows(db_url) == before
    receiver = start_receiver(db_url, tmp_path)
    try:
        post_seed(receiver.url, connection_id, key, "sarah.johnson", 7)  # the release's key still works
        post_seed(receiver.url, connection_id, key, "Sarah.Johnson", 3)  # a replay of the release's row
    finally:
        assert receiver.stop() == 0, receiver.log()
    after = {row[1]: row for row in metrics_rows(db_url)}
    assert after["Sarah.Johnson"][3] == 3 and after["test.user"] == before[1]
    assert ("sarah.johnson" in after) == db_url.startswith("sqlite")  # the warning's case above
    engine = make_engine(db_url)
    with engine.connect() as conn:
        developers = sorted(conn.execute(sa.text("SELECT developer_id FROM _devtel_install_days")).scalars())
    engine.dispose()
    # Case-different ids are two developers in devtel's own tables (on MariaDB after 0002's ALTER).
    assert "sarah.johnson" in developers and "Sarah.Johnson" in developers


def test_serve_upgrades_an_older_schema_when_told(
    sqlite_url: str, release_tree: Path, tmp_path: Path
) -> None:
    """SQLite only: the same code path as `db upgrade`, shown on both databases above."""
    db_url, connection_id, key = fill_with_release(sqlite_url, release_tree, tmp_path)
    receiver = start_receiver(db_url, tmp_path, extra_args=("--upgrade-db",))
    try:
        post_seed(receiver.url, connection_id, key, "after.upgrade", 1)
    finally:
        assert receiver.stop() == 0, receiver.log()
    assert json.loads(receiver_cli("db", "current", "--json", db_url=db_url).stdout)["current"] is not None


def test_a_newer_schema_is_refused_and_a_fresh_one_is_made(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)  # a fresh database is set up on first use, without being told
    with engine.begin() as conn:
        assert current_revision(conn) == head_revision()
        conn.execute(sa.text("UPDATE _devtel_schema_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(SchemaError, match="newer devtel"):
        upgrade(engine)
    engine.dispose()
    refused = serve_exit(db_url, "--upgrade-db")
    assert refused.returncode == 2 and "newer devtel" in refused.stderr, refused.stderr


def test_devlakes_table_is_never_altered(mysql_url: str, fresh_mysql_url: str) -> None:
    """DevLake's own TEXT table, created first: every migration leaves it exactly as it was."""
    engine = make_engine(fresh_mysql_url)
    with engine.begin() as conn:
        conn.exec_driver_sql((TESTDATA / "devlake_metrics_table.sql").read_text().split("\n", 1)[1])
        before = conn.exec_driver_sql("SHOW CREATE TABLE _tool_developer_metrics").one()
    receiver_cli("db", "upgrade", db_url=fresh_mysql_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW CREATE TABLE _tool_developer_metrics").one() == before
        collations = dict(
            conn.exec_driver_sql(
                "SELECT CONCAT(table_name, '.', column_name), collation_name FROM information_schema.columns"
                " WHERE table_schema = DATABASE() AND column_name IN ('developer_id', 'install_id')"
            ).all()
        )
    engine.dispose()
    assert collations.pop("_tool_developer_metrics.developer_id") != "utf8mb4_nopad_bin"
    assert set(collations.values()) == {"utf8mb4_nopad_bin"}, collations


def test_migrations_build_exactly_the_tables_the_code_defines(db_url: str) -> None:
    """bridge/schema/tables.py and the revisions must agree: a table or column added to the code without
    a revision (a fresh database would lack it) shows up here, named, instead of in production."""
    engine = make_engine(db_url)
    ensure_schema(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        drift = [
            d
            for d in compare_metadata(context, metadata)
            if not (d[0] == "remove_table" and d[1].name == "_devtel_schema_version")
        ]
    engine.dispose()
    assert drift == [], "add a revision under bridge/schema/migrations/versions for: " + repr(drift)
