"""The receiver's in-memory key index: concurrent requests share one reload from the database."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from bridge.store.connections import create_connection
from bridge.store.database import make_engine
from otlp_receiver.auth import KeyIndex


def _count_key_reads(engine: sa.engine.Engine) -> list[str]:
    reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "api_key_hash" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    return reads


def test_requests_on_a_stale_index_share_one_reload(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    issued = create_connection(engine, "team")
    reads = _count_key_reads(engine)
    index = KeyIndex(engine, refresh_seconds=5.0)

    async def many() -> list[int | None]:
        return await asyncio.gather(*(index.connection_for(issued.api_key) for _ in range(50)))

    assert asyncio.run(many()) == [issued.id] * 50
    assert len(reads) == 1


def test_unknown_keys_at_once_share_one_reload(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    create_connection(engine, "team")
    index = KeyIndex(engine, refresh_seconds=5.0, miss_reload_seconds=60.0)
    reads = _count_key_reads(engine)

    async def many() -> list[int | None]:
        return await asyncio.gather(*(index.connection_for("x" * 128) for _ in range(20)))

    assert asyncio.run(many()) == [None] * 20
    assert len(reads) == 1  # the stale reload; the misses then find it fresh enough
