"""Statements over a list of primary-key prefixes that use the index for any number of keys.

MariaDB range-scans ``(a, b, c) IN ((…), (…))`` only with two or more tuples: with one, it
turns the list into a row equality that a single-table DELETE cannot range-scan, and reads
(and X-locks) every row of the table. So each statement exists in two shapes, both built
once at import: column-by-column equality for one key, an expanding tuple IN for more. Which
one runs depends only on the number of keys, never on the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

KEYS_PARAM = "keys"


@dataclass(frozen=True, slots=True)
class KeyedStatement:
    """One statement filtered on a key list, as ``one`` (a single key) and ``many`` (two or more)."""

    one: sa.Executable
    many: sa.Executable
    names: tuple[str, ...]

    @classmethod
    def build(
        cls, columns: Sequence[sa.ColumnElement[Any]], make: Callable[[ColumnElement[bool]], sa.Executable]
    ) -> KeyedStatement:
        """``make(where)`` builds the statement around the key filter it is given."""
        names = tuple(f"key_{index}" for index in range(len(columns)))
        equal = sa.and_(*(column == sa.bindparam(name) for column, name in zip(columns, names, strict=True)))
        listed = sa.tuple_(*columns).in_(sa.bindparam(KEYS_PARAM, expanding=True))
        return cls(one=make(equal), many=make(listed), names=names)

    def bind(self, keys: Sequence[tuple[Any, ...]]) -> tuple[sa.Executable, dict[str, Any]]:
        """The shape for ``keys`` and its parameters, for ``conn.execute(*stmt.bind(keys))``."""
        if not keys:
            raise ValueError("a keyed statement needs at least one key")
        if len(keys) == 1:
            return self.one, dict(zip(self.names, keys[0], strict=True))
        return self.many, {KEYS_PARAM: list(keys)}
