"""The receiver's own Prometheus metrics, served at GET /metrics.

With several workers (``serve --workers``) each process writes its values to files in
``PROMETHEUS_MULTIPROC_DIR``, which the supervisor sets before starting them, and whichever
worker answers a scrape sums every worker's: one scrape sees the whole receiver.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_DB_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ReceiverMetrics:
    """One registry per receiver, so tests and several apps in one process never share counters."""

    def __init__(self) -> None:
        self._shared = bool(os.environ.get(MULTIPROCESS_DIR_ENV))
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "devtel_receiver_requests",
            "Requests answered, by route and status.",
            ["route", "status"],
            registry=r,
        )
        self.items = Counter(
            "devtel_receiver_items",
            "OTLP data points and log records, by signal and result (accepted, rejected, ignored).",
            ["signal", "result"],
            registry=r,
        )
        self.rows = Counter("devtel_receiver_rows_upserted", "Rows written, by table.", ["table"], registry=r)
        self.db_seconds = Histogram(
            "devtel_receiver_db_write_seconds",
            "Time to write and commit one batch.",
            ["writer"],
            buckets=_DB_BUCKETS,
            registry=r,
        )
        self.db_errors = Counter(
            "devtel_receiver_db_errors",
            "Batches that failed, by writer and kind.",
            ["writer", "kind"],
            registry=r,
        )
        self.batch_requests = Histogram(
            "devtel_receiver_batch_requests",
            "Requests sharing one transaction.",
            ["writer"],
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.pending = Gauge(
            "devtel_receiver_pending_writes",
            "Requests waiting for the database.",
            ["writer"],
            registry=r,
            multiprocess_mode="livesum",  # every running worker's queue, added up
        )

    def render(self) -> bytes:
        if not self._shared:
            return generate_latest(self.registry)
        everyone = CollectorRegistry()
        multiprocess.MultiProcessCollector(everyone)
        return generate_latest(everyone)
