"""Running the receiver: uvicorn for HTTP, until SIGINT/SIGTERM, then a clean stop with exit 0.

One process by default; with ``workers`` > 1 a supervisor (otlp_receiver/workers.py) runs that
many, each serving the same ports through its own SO_REUSEPORT socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator

import sqlalchemy as sa
import uvicorn

from otlp_receiver import self_telemetry
from otlp_receiver.app import build_app
from otlp_receiver.grpc_server import GrpcServer
from otlp_receiver.housekeeping import AiRetention
from otlp_receiver.settings import ReceiverSettings
from otlp_receiver.state import ReceiverState

log = logging.getLogger("devtel.receiver")


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after a graceful stop; a service manager should see exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self.handle_exit)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run(settings: ReceiverSettings, *, log_level: str = "info") -> int:
    if settings.workers > 1:
        from otlp_receiver.workers import supervise

        return supervise(settings, log_level=log_level)
    return serve(settings, log_level=log_level)


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other workers can bind too; the kernel spreads connections."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family, backlog=2048, reuse_port=True)


def serve(settings: ReceiverSettings, *, log_level: str = "info", worker: int | None = None) -> int:
    """One receiver process; ``worker`` is its index when it is one of several."""
    state = ReceiverState.create(settings)
    if not worker:  # daily housekeeping: one process is enough
        state.attachments.append(AiRetention(state, settings.ai_retention_days))
    if settings.grpc_port:
        shared = worker is not None
        state.attachments.append(GrpcServer(state, settings.host, settings.grpc_port, shared=shared))
    app = self_telemetry.instrument(build_app(state), state.engine)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,  # a line per request costs time and says nothing /metrics does not
        timeout_graceful_shutdown=10,
    )
    safe_url = sa.engine.make_url(settings.db_url).render_as_string(hide_password=True)
    # uvicorn picks uvloop and httptools when they are installed (the receiver extra has them),
    # but only for a loop it makes itself: asyncio.run() would quietly keep the slower default.
    loop_factory = config.get_loop_factory() or asyncio.new_event_loop
    log.info(
        "devtel-receiver%s on http://%s:%d (database: %s; event loop: %s)",
        "" if worker is None else f" worker {worker}",
        settings.host,
        settings.port,
        safe_url,
        loop_factory.__module__.partition(".")[0],
    )
    sockets = None if worker is None else [shared_socket(settings.host, settings.port)]
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(_Server(config).serve(sockets=sockets))
    finally:
        self_telemetry.shutdown()
    return 0
