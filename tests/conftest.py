"""Shared fixtures: real databases (a throwaway MariaDB database per run, a SQLite file per test)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ci import unavailable

pytest_plugins = ["tests.support.mariadb"]  # the private_mariadb fixture, for tests that stop the server

MYSQL_URL_ENV = "DEVTEL_TEST_MYSQL_URL"
DEFAULT_MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


def _mysql_server_url() -> str:
    return os.environ.get(MYSQL_URL_ENV, DEFAULT_MYSQL_URL)


def _missing_mysql(reason: str) -> None:
    """In CI a missing MySQL fails the run; on a laptop it skips, saying why."""
    unavailable(f"MySQL/MariaDB unavailable at {_mysql_server_url()} ({reason}); set {MYSQL_URL_ENV}")


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A MariaDB database made for this test run (random name), dropped afterwards."""
    import sqlalchemy as sa

    server = sa.engine.make_url(_mysql_server_url())
    name = f"devtel_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _missing_mysql(str(exc.orig))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


@pytest.fixture
def fresh_mysql_url(mysql_url: str) -> Iterator[str]:
    """An empty MariaDB database for one test, for tests that need the schema absent."""
    import sqlalchemy as sa

    base = sa.engine.make_url(mysql_url)
    name = f"{base.database}_{secrets.token_hex(3)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'devtel.db'}"


@pytest.fixture(params=["sqlite", "mysql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs once on SQLite and once on MariaDB, each on an empty database."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("fresh_mysql_url")


@pytest.fixture
def agent_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """DEVTEL_HOME and DEVTEL_CONFIG in temporary paths, and no inherited OTEL/opt-out variables."""
    home = tmp_path / "devtel-home"
    config = tmp_path / "agent.toml"
    for name in list(os.environ):
        if name.startswith("OTEL_") or name in ("DO_NOT_TRACK", "DEVTEL_DISABLE_TELEMETRY"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DEVTEL_HOME", str(home))
    monkeypatch.setenv("DEVTEL_CONFIG", str(config))
    return {"DEVTEL_HOME": str(home), "DEVTEL_CONFIG": str(config)}
