"""API-key authentication for every transport: Bearer, or Basic with the connection id as user.

Keys are checked against an in-memory index of their keyed hashes, reloaded from the
database every few seconds (so a rotated or deleted key stops working on every replica
within ``refresh_seconds``) and at most ten times a second on a miss, so a key made a
moment ago works at once. One reload at a time: the requests that find the index stale
together wait for that one reload instead of each reading every key from the database.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import time
from dataclasses import dataclass

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.connections import hash_api_key, load_key_index, looks_like_api_key
from bridge.database import is_unavailable
from bridge.errors import StorageUnavailable
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


class KeyIndex:
    """Maps a presented key to its connection id without storing or logging the key.

    Every stored hash is compared with ``hmac.compare_digest``, so the time taken does not
    depend on how much of a guessed key's hash matches.
    """

    def __init__(self, engine: Engine, *, refresh_seconds: float = 1.0, miss_reload_seconds: float = 0.1):
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._miss_reload_seconds = miss_reload_seconds
        # One tuple, swapped whole on reload, so readers never see a half-updated index.
        self._state: tuple[bytes, tuple[tuple[str, int], ...]] = (b"", ())
        self._loaded_at = float("-inf")
        self._reloading = asyncio.Lock()

    def _reload(self) -> None:
        try:
            secret, by_hash = load_key_index(self._engine)
        except sa.exc.DBAPIError as exc:
            if is_unavailable(exc):
                raise StorageUnavailable(f"cannot read API keys: {exc.orig}") from exc
            raise
        self._state = (secret, tuple(by_hash.items()))
        self._loaded_at = time.monotonic()

    def _lookup(self, api_key: str) -> int | None:
        secret, entries = self._state
        digest = hash_api_key(secret, api_key)
        found = None
        for stored, connection_id in entries:
            if hmac.compare_digest(stored, digest):
                found = connection_id
        return found

    def known_connection(self, connection_id: int) -> bool:
        return any(cid == connection_id for _, cid in self._state[1])

    def _older_than(self, seconds: float) -> bool:
        return time.monotonic() - self._loaded_at > seconds

    async def _reload_if_older_than(self, seconds: float) -> None:
        """Reload in a worker thread, unless another request did while this one waited its turn."""
        async with self._reloading:
            if self._older_than(seconds):
                await anyio.to_thread.run_sync(self._reload)

    async def connection_for(self, api_key: str) -> int | None:
        """In memory, except for a reload when stale or on a miss."""
        if self._older_than(self._refresh_seconds):
            await self._reload_if_older_than(self._refresh_seconds)
        found = self._lookup(api_key)
        if found is None and self._older_than(self._miss_reload_seconds):
            await self._reload_if_older_than(self._miss_reload_seconds)
            found = self._lookup(api_key)
        return found

    async def authenticate(self, credentials: Credentials, target: int | None = None) -> int:
        """The connection the key belongs to, checked against the claimed and the addressed one."""
        if not looks_like_api_key(credentials.api_key):
            raise Unauthorized("malformed API key: expected 128 letters and digits")
        connection_id = await self.connection_for(credentials.api_key)
        if connection_id is None:
            raise Unauthorized("unknown API key")
        claimed = credentials.claimed_connection
        if claimed is not None and claimed != connection_id:
            raise Unauthorized("the API key does not belong to the connection named in Basic auth")
        if target is not None and target != connection_id:
            if not self.known_connection(target):
                raise NotFound(f"connection {target} does not exist")
            raise Forbidden(f"this API key is not valid for connection {target}")
        return connection_id
