"""Connections and their API keys: 128 random characters shown once, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bridge.errors import DuplicateConnectionName, InvalidReport, UnknownConnection
from bridge.schema import VARCHAR_MAX_CHARS, connections, ensure_schema, key_secret
from bridge.upsert import run_in_transaction, utc_now

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


def create_connection(engine: Engine, name: str) -> IssuedKey:
    name = _check_name(name)
    ensure_schema(engine)
    api_key = generate_api_key()

    def work(conn: Connection) -> int:
        now = utc_now()
        digest = hash_api_key(key_secret(conn), api_key)
        try:
            result = conn.execute(
                connections.insert().values(name=name, api_key_hash=digest, created_at=now, updated_at=now)
            )
        except sa.exc.IntegrityError:
            raise DuplicateConnectionName(f"a connection named {name!r} already exists") from None
        return int(result.inserted_primary_key[0])

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
