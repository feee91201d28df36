"""Liveness and readiness."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from otlp_receiver.responses import as_request_error
from otlp_receiver.state import ReceiverState


async def healthz(_request: Request) -> JSONResponse:
    """The process is up and serving; says nothing of the database."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers: a load balancer stops sending while it is not."""
    state: ReceiverState = request.app.state.receiver
    try:
        await anyio.to_thread.run_sync(state.check_database)
    except Exception as exc:
        error = as_request_error(exc, retry_after=state.settings.retry_after)
        return JSONResponse(
            {"status": "unavailable", "reason": error.message},
            status_code=503,
            headers={"Retry-After": str(state.settings.retry_after)},
        )
    return JSONResponse({"status": "ready"})
