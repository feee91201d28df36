"""The ASGI application: routes, error pages, and the receiver's lifetime."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from otlp_receiver.routes import health, legacy, observability, otlp_http
from otlp_receiver.routes.observability import counted
from otlp_receiver.signals import SIGNALS
from otlp_receiver.state import ReceiverState


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    """Unknown paths and wrong methods answer in JSON like everything else."""
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def build_app(state: ReceiverState) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    otlp_routes = [
        Route(signal.path, counted(signal.path, otlp_http.handler(signal)), methods=["POST"])
        for signal in SIGNALS
    ]
    app = Starlette(
        routes=[
            *otlp_routes,
            Route(legacy.REPORT_PATH, counted("legacy_report", legacy.report), methods=["POST"]),
            Route(legacy.NON_REST_PATH, counted("legacy_non_rest", legacy.non_rest_report), methods=["POST"]),
            *(
                Route(path, counted("legacy_backend", legacy.report), methods=["POST"])
                for path in legacy.BACKEND_PATHS
            ),
            Route("/healthz", health.healthz, methods=["GET"]),
            Route("/readyz", health.readyz, methods=["GET"]),
            Route("/metrics", observability.metrics, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error},  # type: ignore[dict-item]
        lifespan=lifespan,
    )
    # OTLP exporters treat a 3xx as success: never redirect on the ingest path.
    app.router.redirect_slashes = False
    app.state.receiver = state
    return app
