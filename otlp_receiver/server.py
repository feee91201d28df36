"""Running the receiver: uvicorn for HTTP, until SIGINT/SIGTERM, then a clean stop with exit 0."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
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
    state = ReceiverState.create(settings)
    state.attachments.append(AiRetention(state, settings.ai_retention_days))
    if settings.grpc_port:
        state.attachments.append(GrpcServer(state, settings.host, settings.grpc_port))
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
    log.info("devtel-receiver on http://%s:%d (database: %s)", settings.host, settings.port, safe_url)
    try:
        asyncio.run(_Server(config).serve())
    finally:
        self_telemetry.shutdown()
    return 0
