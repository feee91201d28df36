"""Connections and API keys on real databases: shown once, stored as keyed hashes only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from bridge.errors import DuplicateConnectionName, InvalidReport, UnknownConnection
from bridge.store.connections import (
    create_connection,
    delete_connection,
    hash_api_key,
    list_connections,
    load_key_index,
    rotate_key,
)
from bridge.store.database import make_engine


def dump_database(engine: sa.Engine) -> str:
    """Every value of every table, as text: what a stolen backup would show."""
    out = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
                out.append(" ".join(str(v) for v in row))
    return "\n".join(out)


def test_create_issues_a_128_character_key_stored_only_hashed(db_url: str) -> None:
    engine = make_engine(db_url)
    issued = create_connection(engine, "Engineering")
    assert re.fullmatch(r"[A-Za-z0-9]{128}", issued.api_key)
    assert issued.api_key not in dump_database(engine)
    _secret, index = load_key_index(engine)
    assert list(index.values()) == [issued.id]


def test_names_are_unique_and_checked(db_url: str) -> None:
    engine = make_engine(db_url)
    create_connection(engine, "team")
    with pytest.raises(DuplicateConnectionName):
        create_connection(engine, "team")
    with pytest.raises(InvalidReport):
        create_connection(engine, "  ")
    with pytest.raises(InvalidReport):
        create_connection(engine, "n" * 300)


def test_rotate_replaces_the_key_and_delete_removes_it(db_url: str) -> None:
    engine = make_engine(db_url)
    first = create_connection(engine, "a")
    other = create_connection(engine, "b")
    rotated = rotate_key(engine, first.id)
    assert rotated.api_key != first.api_key
    secret, index = load_key_index(engine)
    assert hash_api_key(secret, first.api_key) not in index
    assert index[hash_api_key(secret, rotated.api_key)] == first.id
    delete_connection(engine, first.id)
    assert [c.id for c in list_connections(engine)] == [other.id]
    with pytest.raises(UnknownConnection):
        rotate_key(engine, first.id)
    with pytest.raises(UnknownConnection):
        delete_connection(engine, 999)
