"""OTLP/gRPC: the same consumer behind grpc.aio, on the receiver's event loop."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2

from otlp_receiver.auth import parse_authorization
from otlp_receiver.consumer import consume
from otlp_receiver.otlp_codec import PROTOBUF
from otlp_receiver.responses import as_request_error
from otlp_receiver.signals import SIGNALS, Signal
from otlp_receiver.state import ReceiverState
from otlp_receiver.tls import GrpcCredentials

log = logging.getLogger("devtel.receiver")
_RETRY_INFO_KEY = "google.rpc.retryinfo-bin"


def _export_method(state: ReceiverState, signal: Signal) -> Any:
    async def export(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            metadata = {key: value for key, value in context.invocation_metadata() or ()}
            connection_id = await state.keys.authenticate(parse_authorization(metadata.get("authorization")))
            answer = await consume(state, signal, request, PROTOBUF, connection_id)
        except Exception as exc:
            error = as_request_error(exc, retry_after=state.settings.retry_after)
            state.metrics.requests.labels(f"grpc:{signal.name}", error.grpc_code.name).inc()
            if error.retry_after is not None:
                info = error_details_pb2.RetryInfo(retry_delay=Duration(seconds=error.retry_after))
                context.set_trailing_metadata(((_RETRY_INFO_KEY, info.SerializeToString()),))
            await context.abort(error.grpc_code, error.message)
        state.metrics.requests.labels(f"grpc:{signal.name}", "OK").inc()
        return answer

    return grpc.unary_unary_rpc_method_handler(
        export,
        # Raw bytes in, decoded inside the handler: a bad body is INVALID_ARGUMENT, not INTERNAL.
        request_deserializer=None,
        response_serializer=signal.response_type.SerializeToString,
    )


class GrpcServer:
    """Started and stopped with the receiver (see ReceiverState.attachments), on its event loop."""

    def __init__(
        self,
        state: ReceiverState,
        host: str,
        port: int,
        *,
        shared: bool = False,
        credentials: GrpcCredentials | None = None,
    ) -> None:
        """``shared``: other workers serve the same port (else a port in use is an error).
        ``credentials``: TLS (and mutual TLS) on this port, as on the HTTP one."""
        self._state = state
        self._credentials = credentials
        self._shared = shared
        self._address = f"{host}:{port}"
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        options = [
            ("grpc.max_receive_message_length", self._state.settings.otlp_max_body),
            ("grpc.so_reuseport", int(self._shared)),
            # Idle channels closed after five minutes, and a bound on streams per connection, so
            # idle or greedy gRPC clients hold neither sockets nor handlers forever.
            ("grpc.max_connection_idle_ms", 300_000),
            ("grpc.max_concurrent_streams", 100),
        ]
        server = grpc.aio.server(options=options)
        for signal in SIGNALS:
            methods = {"Export": _export_method(self._state, signal)}
            server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(signal.grpc_service, methods),)
            )
        if self._credentials is not None:
            bound = server.add_secure_port(self._address, self._credentials.credentials)
        else:
            bound = server.add_insecure_port(self._address)
        if bound == 0:
            raise OSError(f"cannot listen for gRPC on {self._address}")
        await server.start()
        self._server = server
        log.info("OTLP/gRPC on %s", self._address)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=5)
