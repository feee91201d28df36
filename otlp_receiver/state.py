"""What one running receiver holds: the engine, the key index, the writers, its own metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bridge.errors import StorageUnavailable
from bridge.mapping.ai_mapping import AiPoint
from bridge.mapping.installs import InstallSighting
from bridge.mapping.snapshots import FieldSnapshot
from bridge.schema.migrate import ensure_schema
from bridge.store.ai_store import TimeSaved
from bridge.store.database import is_unavailable, make_engine
from bridge.store.snapshot_store import store_otlp_in, store_snapshots_in
from bridge.store.upsert import run_in_transaction
from otlp_receiver.auth import KeyIndex
from otlp_receiver.settings import ReceiverSettings
from otlp_receiver.telemetry import ReceiverMetrics
from otlp_receiver.writer import BatchWriter

log = logging.getLogger("devtel.receiver")
T = TypeVar("T")


class Attachment(Protocol):
    """Something that lives as long as the receiver (the gRPC server)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class ReceiverState:
    settings: ReceiverSettings
    engine: Engine
    keys: KeyIndex
    metrics: ReceiverMetrics = field(default_factory=ReceiverMetrics)
    attachments: list[Attachment] = field(default_factory=list)
    legacy_writer: BatchWriter[FieldSnapshot] = field(init=False)
    snapshot_writer: BatchWriter[FieldSnapshot | InstallSighting | AiPoint] = field(init=False)
    _schema_ready: bool = False

    def __post_init__(self) -> None:
        # Snapshots rebuild rows from what is stored, so one worker keeps them in order (a second
        # one measured within noise and brought deadlocks: docs/scaling.md). Legacy reports are
        # snapshots too (bridge/mapping/legacy_snapshots.py): their rows merge with the developer's
        # other installs instead of overwriting them.
        self.legacy_writer = self._writer("legacy", store_snapshots_in, workers=1)
        time_saved = TimeSaved(self.settings.ai_seconds_per_line)
        self.snapshot_writer = self._writer(
            "otlp", lambda conn, items: store_otlp_in(conn, items, time_saved), workers=1
        )

    def _writer(
        self, name: str, write_in: Callable[[Connection, Sequence[T]], int], workers: int
    ) -> BatchWriter[T]:
        table = "_tool_developer_metrics"

        def write(items: Sequence[T]) -> None:
            started = time.perf_counter()
            try:
                self.prepare_schema()
                rows = run_in_transaction(self.engine, lambda conn: write_in(conn, items))
            except StorageUnavailable:
                self.metrics.db_errors.labels(name, "unavailable").inc()
                raise
            except Exception:
                self.metrics.db_errors.labels(name, "other").inc()
                raise
            self.metrics.db_seconds.labels(name).observe(time.perf_counter() - started)
            self.metrics.rows.labels(table).inc(rows)

        def on_batch(requests: int, pending: int) -> None:
            self.metrics.batch_requests.labels(name).observe(requests)
            self.metrics.pending.labels(name).set(pending)  # kept current for the other workers' scrapes

        return BatchWriter(
            write,
            workers=workers,
            max_pending=self.settings.max_pending,
            retry_after=self.settings.retry_after,
            on_batch=on_batch,
        )

    @classmethod
    def create(cls, settings: ReceiverSettings) -> ReceiverState:
        engine = make_engine(settings.db_url)
        keys = KeyIndex(engine, devlake_secret=settings.devlake_encryption_secret)
        return cls(settings=settings, engine=engine, keys=keys)

    def prepare_schema(self) -> None:
        """Create missing tables; a database that is down now is retried on the first write."""
        if self._schema_ready:
            return
        try:
            ensure_schema(self.engine, upgrade_older=self.settings.db_upgrade)
        except sa.exc.DBAPIError as exc:
            if is_unavailable(exc):
                raise StorageUnavailable(f"database unavailable: {exc.orig}") from exc
            raise
        self._schema_ready = True

    def check_database(self) -> None:
        """Readiness: the database answers and the schema exists."""
        self.prepare_schema()
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except sa.exc.DBAPIError as exc:
            raise StorageUnavailable(f"database unavailable: {exc.orig}") from exc

    def render_metrics(self) -> Any:
        for name, writer in (("legacy", self.legacy_writer), ("otlp", self.snapshot_writer)):
            self.metrics.pending.labels(name).set(writer.pending)
        return self.metrics.render()

    async def start(self) -> None:
        try:
            self.prepare_schema()
        except StorageUnavailable as exc:
            log.warning("starting without the database (%s); writes answer 503 until it is back", exc)
        self.legacy_writer.start()
        self.snapshot_writer.start()
        for attachment in self.attachments:
            await attachment.start()

    async def stop(self) -> None:
        """Stop taking requests first, then finish every write already accepted."""
        for attachment in self.attachments:
            await attachment.stop()
        await self.legacy_writer.stop()
        await self.snapshot_writer.stop()
        self.engine.dispose()
