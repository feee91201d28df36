"""Reading what a receiver process stored, from outside it, the way an operator would."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bridge.store.database import make_engine


def fetch(db_url: str, sql: str, **params: Any) -> list[sa.Row[Any]]:
    """Every row ``sql`` selects, through an engine of its own that is gone afterwards."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))
    finally:
        engine.dispose()
