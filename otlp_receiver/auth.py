"""API-key authentication for every transport: Bearer, or Basic with the connection id as user.

Keys are checked against an in-memory index of their keyed hashes, reloaded from the
database every few seconds (so a rotated or deleted key stops working on every replica
within ``refresh_seconds``) and at most ten times a second on a miss, so a key made a
moment ago works at once. One reload at a time: the requests that find the index stale
together wait for that one reload instead of each reading every key from the database.

Given DevLake's ENCRYPTION_SECRET, DevLake's own keys (bridge/store/devlake_tables.py) work beside
devtel's and are checked as DevLake checks them: 403 "api key has expired" after ``expired_at``,
403 "path doesn't match api key's scope" when the request path (without ``/rest``) does not
match the key's ``allowed_path``. The secret is held here and nowhere else; it is never logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import time
from dataclasses import dataclass, field

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.errors import StorageUnavailable
from bridge.mapping.dates import utc_now
from bridge.store.connections import hash_api_key, load_key_index, looks_like_api_key
from bridge.store.database import is_unavailable
from bridge.store.devlake_tables import (
    DevLakeKey,
    devlake_connection_ids,
    devlake_key_hash,
    load_devlake_keys,
    scope_path,
)
from otlp_receiver.errors import Forbidden, NotFound, Unauthorized

_BEARER = "bearer"
_BASIC = "basic"


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    claimed_connection: int | None  # from Basic auth's user part


def parse_authorization(header: str | None) -> Credentials:
    """Bearer <key>, or Basic base64(<connection id>:<key>) as Grafana Cloud's gateway takes it."""
    if not header:
        raise Unauthorized("missing Authorization header: send 'Bearer <api key>'")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == _BEARER and value:
        return Credentials(api_key=value, claimed_connection=None)
    if scheme.lower() == _BASIC and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized(
                "malformed Basic credentials: expected base64 of '<connection id>:<key>'"
            ) from None
        user, sep, key = decoded.partition(":")
        if not sep or not (user.isascii() and user.isdigit()):
            raise Unauthorized("malformed Basic credentials: the user must be the numeric connection id")
        return Credentials(api_key=key, claimed_connection=int(user))
    raise Unauthorized("malformed Authorization header: expected 'Bearer <api key>'")


@dataclass(frozen=True, slots=True)
class _Index:
    """Everything a lookup reads, swapped whole on reload so readers never see half of it."""

    secret: bytes = b""
    devtel: tuple[tuple[str, int], ...] = ()
    devlake: tuple[tuple[str, DevLakeKey], ...] = ()
    devlake_connections: frozenset[int] = field(default_factory=frozenset)


def _find(entries: tuple[tuple[str, object], ...], digest: str) -> object | None:
    """Compare with every stored hash in constant time; the answer does not leak through timing."""
    found = None
    for stored, value in entries:
        if hmac.compare_digest(stored, digest):
            found = value
    return found


class KeyIndex:
    """Maps a presented key to its connection id without storing or logging the key.

    Every stored hash is compared with ``hmac.compare_digest``, so the time taken does not
    depend on how much of a guessed key's hash matches.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        refresh_seconds: float = 1.0,
        miss_reload_seconds: float = 0.1,
        devlake_secret: str | None = None,
    ):
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._miss_reload_seconds = miss_reload_seconds
        self._devlake_secret = devlake_secret
        self._state = _Index()
        self._loaded_at = float("-inf")
        self._reloading = asyncio.Lock()

    def __repr__(self) -> str:  # never the secret
        return f"KeyIndex(devlake_keys={self._devlake_secret is not None})"

    def _reload(self) -> None:
        try:
            secret, by_hash = load_key_index(self._engine)
            devlake: dict[str, DevLakeKey] = {}
            devlake_ids: set[int] = set()
            if self._devlake_secret is not None:
                with self._engine.connect() as conn:
                    devlake = load_devlake_keys(conn)
                    devlake_ids = devlake_connection_ids(conn)
        except sa.exc.DBAPIError as exc:
            if is_unavailable(exc):
                raise StorageUnavailable(f"cannot read API keys: {exc.orig}") from exc
            raise
        self._state = _Index(secret, tuple(by_hash.items()), tuple(devlake.items()), frozenset(devlake_ids))
        self._loaded_at = time.monotonic()

    def _lookup(self, api_key: str) -> int | DevLakeKey | None:
        """devtel's connection id for the key, else DevLake's record of it, else None."""
        state = self._state
        found = _find(state.devtel, hash_api_key(state.secret, api_key))
        if found is None and self._devlake_secret is not None and state.devlake:
            found = _find(state.devlake, devlake_key_hash(self._devlake_secret, api_key))
        return found  # type: ignore[return-value]

    def known_connection(self, connection_id: int) -> bool:
        state = self._state
        in_devtel = any(cid == connection_id for _, cid in state.devtel)
        return in_devtel or connection_id in state.devlake_connections

    def _older_than(self, seconds: float) -> bool:
        return time.monotonic() - self._loaded_at > seconds

    async def _reload_if_older_than(self, seconds: float) -> None:
        """Reload in a worker thread, unless another request did while this one waited its turn."""
        async with self._reloading:
            if self._older_than(seconds):
                await anyio.to_thread.run_sync(self._reload)

    async def connection_for(self, api_key: str) -> int | DevLakeKey | None:
        """In memory, except for a reload when stale or on a miss."""
        if self._older_than(self._refresh_seconds):
            await self._reload_if_older_than(self._refresh_seconds)
        found = self._lookup(api_key)
        if found is None and self._older_than(self._miss_reload_seconds):
            await self._reload_if_older_than(self._miss_reload_seconds)
            found = self._lookup(api_key)
        return found

    async def authenticate(
        self, credentials: Credentials, target: int | None = None, path: str | None = None
    ) -> int:
        """The connection the key belongs to, checked against the claimed and the addressed one.

        ``path``: the HTTP path, for DevLake keys' scope; without one (OTLP) a DevLake key is out
        of scope, since DevLake scopes its keys to the plugin's own paths.
        """
        if not looks_like_api_key(credentials.api_key):
            raise Unauthorized("malformed API key: expected 128 letters and digits")
        found = await self.connection_for(credentials.api_key)
        if found is None:
            raise Unauthorized("unknown API key")
        connection_id = found if isinstance(found, int) else _devlake_connection(found, target, path)
        claimed = credentials.claimed_connection
        if claimed is not None and claimed != connection_id:
            raise Unauthorized("the API key does not belong to the connection named in Basic auth")
        if target is not None and target != connection_id:
            if not self.known_connection(target):
                raise NotFound(f"connection {target} does not exist")
            raise Forbidden(f"this API key is not valid for connection {target}")
        return connection_id


def _devlake_connection(key: DevLakeKey, target: int | None, path: str | None) -> int:
    """DevLake's checks, in DevLake's order and words: expiry, then the path scope."""
    if key.expired_at is not None and key.expired_at < utc_now():
        raise Forbidden("api key has expired")
    if path is None or key.allowed_path is None or not key.allowed_path.search(scope_path(path)):
        raise Forbidden("path doesn't match api key's scope")
    connection_id = key.connection_id if key.connection_id is not None else target
    if connection_id is None:
        raise Forbidden("this DevLake API key belongs to no connection")
    return connection_id
