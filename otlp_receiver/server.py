"""Running the receiver: uvicorn for HTTP, until SIGINT/SIGTERM, then a clean stop with exit 0.

One process by default; with ``workers`` > 1 a supervisor (otlp_receiver/workers.py) runs that
many, each serving the same ports through its own SO_REUSEPORT socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
from collections.abc import Callable, Iterator

import sqlalchemy as sa
import uvicorn

from otlp_receiver import json_pool, logs, self_telemetry
from otlp_receiver.app import build_app
from otlp_receiver.grpc_server import GrpcServer
from otlp_receiver.housekeeping import AiRetention
from otlp_receiver.http_protocol import ConnectionLimits, connection_cap, guarded_protocol
from otlp_receiver.settings import ReceiverSettings, SettingsError
from otlp_receiver.state import ReceiverState
from otlp_receiver.tls import GrpcCredentials, reload_all

log = logging.getLogger("devtel.receiver")


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after a graceful stop; a service manager should see exit 0.
    SIGHUP calls ``on_hangup`` (the TLS reload) instead of ending the process."""

    def __init__(self, config: uvicorn.Config, on_hangup: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_hangup = on_hangup

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.handle_exit)
        hangup = self._on_hangup
        signal.signal(signal.SIGHUP, (lambda *_: hangup()) if hangup else signal.SIG_IGN)
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


def shared_socket(host: str, port: int, *, reuse_port: bool = True) -> socket.socket:
    """A listening socket; with ``reuse_port`` other workers can bind it too and the kernel spreads
    connections. Bound here rather than by uvicorn, so a port in use is one clear SettingsError."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048, reuse_port=reuse_port)
    except OSError as exc:
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _freeze_start_up_objects() -> None:
    """Keep what start-up made (modules, the app, SQLAlchemy's tables) out of the garbage
    collector's full passes. A full pass stops every thread, the event loop's included, for
    time in proportion to the objects it walks: beside a 10 MB request that was 27-37 ms here, half
    of it spent on objects that live as long as the process anyway."""
    gc.collect()
    gc.freeze()


def serve(settings: ReceiverSettings, *, log_level: str = "info", worker: int | None = None) -> int:
    """One receiver process; ``worker`` is its index when it is one of several."""
    logs.configure(settings.log_format, logging.getLevelName(log_level.upper()))
    # Mapping and writing run in threads; a shorter GIL switch interval than the default 5 ms lets
    # the event loop thread (probes, small requests) in sooner while they work.
    sys.setswitchinterval(0.001)
    state = ReceiverState.create(settings)
    if not worker:  # daily housekeeping: one process is enough
        state.attachments.append(AiRetention(state, settings.ai_retention_days))
    if settings.grpc_port and worker is None:  # gRPC binds late, inside the lifespan: check it now
        shared_socket(settings.host, settings.grpc_port, reuse_port=False).close()
    tls = settings.tls_files()
    grpc_credentials = GrpcCredentials(tls) if tls and settings.grpc_port else None
    if settings.grpc_port:
        shared = worker is not None
        state.attachments.append(
            GrpcServer(state, settings.host, settings.grpc_port, shared=shared, credentials=grpc_credentials)
        )
    app = self_telemetry.instrument(build_app(state), state.engine)
    limits = ConnectionLimits(
        connection_cap(settings.max_connections), settings.header_timeout, settings.max_header_bytes
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=settings.access_log,  # off by default: costs time and says little /metrics does not
        log_config=None,  # keep logs.configure's single handler and format for uvicorn's loggers too
        timeout_graceful_shutdown=10,
        timeout_keep_alive=int(settings.keepalive) or 1,
        http=guarded_protocol(limits),
    )
    config.load()
    http_context = None
    if tls is not None:
        config.ssl = http_context = tls.server_context()
    scheme = "https" if tls else "http"
    safe_url = sa.engine.make_url(settings.db_url).render_as_string(hide_password=True)
    # uvicorn picks uvloop and httptools when they are installed (the receiver extra has them),
    # but only for a loop it makes itself: asyncio.run() would quietly keep the slower default.
    loop_factory = config.get_loop_factory() or asyncio.new_event_loop
    sockets = [shared_socket(settings.host, settings.port, reuse_port=worker is not None)]
    log.info(
        "devtel-receiver%s on %s://%s:%d (database: %s; event loop: %s)",
        "" if worker is None else f" worker {worker}",
        scheme,
        settings.host,
        settings.port,
        safe_url,
        loop_factory.__module__.partition(".")[0],
    )
    _freeze_start_up_objects()
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            hangup = (lambda: reload_all(tls, http_context, grpc_credentials)) if tls else None
            runner.run(_Server(config, hangup).serve(sockets=sockets))
    finally:
        json_pool.shutdown()
        self_telemetry.shutdown()
    return 0
