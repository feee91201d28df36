"""OTLP/HTTP: one handler for every signal, protobuf or JSON on the same port."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from otlp_receiver.auth import parse_authorization
from otlp_receiver.body import read_body
from otlp_receiver.consumer import consume
from otlp_receiver.otlp_codec import JSON, encode, request_format, status_body
from otlp_receiver.responses import as_request_error, error_headers
from otlp_receiver.signals import Signal
from otlp_receiver.state import ReceiverState


def handler(signal: Signal) -> Callable[[Request], Awaitable[Response]]:
    async def export(request: Request) -> Response:
        state: ReceiverState = request.app.state.receiver
        fmt = JSON  # errors found before the content type is known are answered in JSON
        try:
            connection_id = await state.keys.authenticate(
                parse_authorization(request.headers.get("authorization"))
            )
            fmt = request_format(request.headers.get("content-type"))
            body = await read_body(
                request.stream(), request.headers.get("content-encoding", ""), state.settings.otlp_max_body
            )
            answer = await consume(state, signal, body, fmt, connection_id)
        except Exception as exc:
            error = as_request_error(exc, retry_after=state.settings.retry_after)
            return Response(
                status_body(error.grpc_code.value[0], error.message, fmt),
                status_code=error.http_status,
                media_type=fmt,
                headers=error_headers(error),
            )
        return Response(encode(answer, fmt), media_type=fmt)

    export.__name__ = f"export_{signal.name}"
    return export
