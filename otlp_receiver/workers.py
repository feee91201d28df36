"""Several receiver processes on one machine: one Python process uses at most one core.

The supervisor starts ``workers`` full receivers, each binding the HTTP and gRPC ports through
its own SO_REUSEPORT socket (the kernel spreads connections over them) and each with its own
group commit and database pool. Row locks in the database keep their writes to the same day
correct, as for replicas on several machines. /metrics adds every worker's figures up (see
telemetry.py). A worker that dies is started again; one that dies within its first seconds
(a port in use, a bad setting) stops the whole receiver with its exit code, since a restart
would fail the same way. SIGTERM or SIGINT stops every worker gracefully, then the supervisor.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

import sqlalchemy as sa
from prometheus_client import multiprocess

from bridge.schema.migrate import ensure_schema
from bridge.store.database import is_unavailable, make_engine
from otlp_receiver.settings import ReceiverSettings, SettingsError
from otlp_receiver.telemetry import MULTIPROCESS_DIR_ENV

log = logging.getLogger("devtel.receiver")
EARLY_EXIT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 30.0
_RESTART_PAUSE_SECONDS = 1.0


def _worker_main(settings: ReceiverSettings, index: int, log_level: str) -> None:
    """A worker process (spawned: a fresh interpreter, so the metrics go to the shared files)."""
    from otlp_receiver.cli import configure_logging
    from otlp_receiver.server import serve

    configure_logging()
    try:
        code = serve(settings, log_level=log_level, worker=index)
    except OSError as exc:
        log.error("worker %d: cannot listen on %s:%d: %s", index, settings.host, settings.port, exc)
        code = 1
    raise SystemExit(code)


def prepare_database(settings: ReceiverSettings) -> None:
    """Create or upgrade the tables once, before the workers race to do it; `serve` also calls
    it first, so a schema it must refuse stops it before it listens (bridge/schema/migrate.py)."""
    engine = make_engine(settings.db_url)
    try:
        ensure_schema(engine, upgrade_older=settings.db_upgrade)
    except sa.exc.DBAPIError as exc:
        if not is_unavailable(exc):
            raise
        # Refused at start, so a wrong --db is seen at once; an outage later is 503 and /readyz.
        where = sa.engine.make_url(settings.db_url).render_as_string(hide_password=True)
        raise SettingsError(
            f"cannot reach the database {where} at start ({exc.orig}); start it or correct --db /"
            " DEVTEL_DB_URL, then start again"
        ) from None
    finally:
        engine.dispose()


class _Supervisor:
    def __init__(self, settings: ReceiverSettings, log_level: str) -> None:
        self._settings = settings
        self._log_level = log_level
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[BaseProcess] = []
        self._started: list[float] = []
        self._stopping = False

    def _start(self, index: int) -> BaseProcess:
        process = self._context.Process(
            target=_worker_main,
            args=(self._settings, index, self._log_level),
            name=f"devtel-receiver-worker-{index}",
        )
        process.start()
        log.info("worker %d started (pid %d)", index, process.pid)
        return process

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        """SIGHUP (reload the TLS files) is each worker's to act on."""
        for process in self._workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signum)

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGHUP, self._forward)
        for index in range(self._settings.workers):
            self._workers.append(self._start(index))
            self._started.append(time.monotonic())
        while not self._stopping:
            wait([p.sentinel for p in self._workers], timeout=0.5)
            for index, process in enumerate(self._workers):
                if process.is_alive() or self._stopping:
                    continue
                multiprocess.mark_process_dead(process.pid)
                if time.monotonic() - self._started[index] < EARLY_EXIT_SECONDS:
                    log.error("worker %d exited with %s while starting; stopping", index, process.exitcode)
                    self._stop_all()
                    return process.exitcode or 1
                pid, code = process.pid, process.exitcode
                log.warning("worker %d (pid %d) exited with %s; starting it again", index, pid, code)
                time.sleep(_RESTART_PAUSE_SECONDS)
                self._workers[index] = self._start(index)
                self._started[index] = time.monotonic()
        return self._stop_all()

    def _stop_all(self) -> int:
        """SIGTERM to every worker, wait for their graceful stop; 0 when all of them stopped cleanly."""
        for process in self._workers:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        code = 0
        for process in self._workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("worker pid %d did not stop in %.0f s; killed", process.pid, STOP_TIMEOUT_SECONDS)
                process.kill()
                process.join()
                code = 1
        return code


def supervise(settings: ReceiverSettings, *, log_level: str = "info") -> int:
    prepare_database(settings)
    metrics_dir = tempfile.mkdtemp(prefix="devtel-receiver-metrics-")
    os.environ[MULTIPROCESS_DIR_ENV] = metrics_dir  # inherited by the workers
    log.info("devtel-receiver: %d workers on port %d", settings.workers, settings.port)
    try:
        return _Supervisor(settings, log_level).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.environ.pop(MULTIPROCESS_DIR_ENV, None)
