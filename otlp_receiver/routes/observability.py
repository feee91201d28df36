"""GET /metrics, and the per-route request counter every HTTP handler reports into."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from otlp_receiver.state import ReceiverState

Handler = Callable[[Request], Awaitable[Response]]


async def metrics(request: Request) -> Response:
    state: ReceiverState = request.app.state.receiver
    return Response(state.render_metrics(), media_type=CONTENT_TYPE_LATEST)


def counted(route: str, handler: Handler) -> Handler:
    """Count every answer of ``handler`` by status, under a fixed route name (never the raw path)."""

    async def wrapper(request: Request) -> Response:
        response = await handler(request)
        request.app.state.receiver.metrics.requests.labels(route, str(response.status_code)).inc()
        return response

    wrapper.__name__ = handler.__name__
    return wrapper
