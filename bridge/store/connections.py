"""Connections and their API keys: 128 random characters shown once, stored only as a keyed hash.

Connection ids are devtel's to choose, never the database's: a new id is one past the largest
of devtel's connections, DevLake's own (``_tool_developer_telemetry_connections``, when devtel
runs on DevLake's database), every id devtel ever issued (a high-water mark in
``_devtel_settings``) and every connection id that has rows in ``_tool_developer_metrics``.
So a devtel connection never shares an id with DevLake's, and a deleted connection's id is
never issued again, on SQLite as on MariaDB: a new connection inherits no old rows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bridge.errors import ConnectionIdTaken, DuplicateConnectionName, InvalidReport, UnknownConnection
from bridge.mapping.dates import utc_now
from bridge.schema.migrate import ensure_schema
from bridge.schema.tables import VARCHAR_MAX_CHARS, connections, developer_metrics, key_secret, settings
from bridge.store.devlake_tables import devlake_connection_ids
from bridge.store.upsert import run_in_transaction

API_KEY_LENGTH = 128
_KEY_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """What `connections create` and `rotate` print: the key exists in plain text only here."""

    id: int
    name: str
    api_key: str


def generate_api_key() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))


def hash_api_key(secret: bytes, api_key: str) -> str:
    return hmac.new(secret, api_key.encode("utf-8"), hashlib.sha256).hexdigest()


def looks_like_api_key(candidate: str) -> bool:
    return len(candidate) == API_KEY_LENGTH and all(c in _KEY_ALPHABET for c in candidate)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidReport("name", "must not be empty")
    if len(name) > VARCHAR_MAX_CHARS:
        raise InvalidReport("name", f"is {len(name)} characters long; at most {VARCHAR_MAX_CHARS} fit")
    return name


ID_HIGH_WATER_SETTING = "connection_id_high_water"
_MAX_ID = 2**63 - 1


def _high_water(conn: Connection) -> int:
    """The largest id devtel ever issued, locked until commit so two creations never share one."""
    stmt = sa.select(settings.c.value).where(settings.c.name == ID_HIGH_WATER_SETTING)
    if conn.dialect.name == "mysql":
        stmt = stmt.with_for_update()
    found = conn.execute(stmt).scalar_one_or_none()
    if found is None:
        with conn.begin_nested():
            conn.execute(settings.insert().values(name=ID_HIGH_WATER_SETTING, value="0"))
        return _high_water(conn)
    return int(found)


def _choose_id(conn: Connection, requested: int | None) -> int:
    high = _high_water(conn)
    ours = set(conn.execute(sa.select(connections.c.id)).scalars())
    devlake = devlake_connection_ids(conn)
    # Rows outlive their connection (delete keeps them, and releases up to 4ecc936 let SQLite
    # reuse ids): a new id is past them too. MAX of the key's first column is one index read.
    with_rows = conn.execute(sa.select(sa.func.max(developer_metrics.c.connection_id))).scalar() or 0
    next_free = max([high, with_rows, *ours, *devlake], default=0) + 1
    if requested is None:
        chosen = next_free
    elif not 1 <= requested <= _MAX_ID:
        raise InvalidReport("id", f"must be from 1 to {_MAX_ID}, got {requested}")
    elif requested in devlake:
        raise ConnectionIdTaken(
            f"connection id {requested} is DevLake's own connection: its DevLake API key works as it is"
            f" when the receiver has DevLake's ENCRYPTION_SECRET; the next free id is {next_free}"
        )
    elif requested in ours:
        raise ConnectionIdTaken(f"connection id {requested} already exists; the next free id is {next_free}")
    elif requested <= high:
        raise ConnectionIdTaken(
            f"connection id {requested} was issued before and deleted (ids up to {high} are never"
            f" reused, so a new connection inherits no old rows); the next free id is {next_free}"
        )
    else:
        chosen = requested
    conn.execute(
        settings.update().where(settings.c.name == ID_HIGH_WATER_SETTING).values(value=str(max(high, chosen)))
    )
    return chosen


def create_connection(engine: Engine, name: str, connection_id: int | None = None) -> IssuedKey:
    """A new connection and its key; ``connection_id`` to keep a DevLake-era id when migrating."""
    name = _check_name(name)
    ensure_schema(engine)
    api_key = generate_api_key()

    def work(conn: Connection) -> int:
        now = utc_now()
        digest = hash_api_key(key_secret(conn), api_key)
        chosen = _choose_id(conn, connection_id)
        try:
            with conn.begin_nested():
                conn.execute(
                    connections.insert().values(
                        id=chosen, name=name, api_key_hash=digest, created_at=now, updated_at=now
                    )
                )
        except sa.exc.IntegrityError:
            raise DuplicateConnectionName(f"a connection named {name!r} already exists") from None
        return chosen

    return IssuedKey(id=run_in_transaction(engine, work), name=name, api_key=api_key)


def list_connections(engine: Engine) -> list[ConnectionInfo]:
    ensure_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(connections.c.id, connections.c.name).order_by(connections.c.id))
        return [ConnectionInfo(id=row.id, name=row.name) for row in rows]


def rotate_key(engine: Engine, connection_id: int) -> IssuedKey:
    """A new key for the connection; the old one stops working at once."""
    ensure_schema(engine)
    api_key = generate_api_key()

    def work(conn: Connection) -> str:
        name = conn.execute(
            sa.select(connections.c.name).where(connections.c.id == connection_id)
        ).scalar_one_or_none()
        if name is None:
            raise UnknownConnection(f"no connection has id {connection_id}")
        conn.execute(
            connections.update()
            .where(connections.c.id == connection_id)
            .values(api_key_hash=hash_api_key(key_secret(conn), api_key), updated_at=utc_now())
        )
        return name

    name = run_in_transaction(engine, work)
    return IssuedKey(id=connection_id, name=name, api_key=api_key)


def delete_connection(engine: Engine, connection_id: int) -> None:
    """Remove the connection and its key; rows it wrote stay (DevLake's data is not ours to drop)."""
    ensure_schema(engine)

    def work(conn: Connection) -> None:
        deleted = conn.execute(connections.delete().where(connections.c.id == connection_id)).rowcount
        if not deleted:
            raise UnknownConnection(f"no connection has id {connection_id}")

    run_in_transaction(engine, work)


def load_key_index(engine: Engine) -> tuple[bytes, dict[str, int]]:
    """The HMAC secret and every key hash with its connection id, for the receiver's auth cache."""
    with engine.connect() as conn:
        secret = key_secret(conn)
        rows = conn.execute(sa.select(connections.c.api_key_hash, connections.c.id))
        return secret, {row.api_key_hash: row.id for row in rows}


def connection_exists(engine: Engine, connection_id: int) -> bool:
    with engine.connect() as conn:
        found = conn.execute(sa.select(connections.c.id).where(connections.c.id == connection_id))
        return found.first() is not None
