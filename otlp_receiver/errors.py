"""Errors a request can end in, each with its HTTP status and gRPC code: the one status table."""

from __future__ import annotations

import grpc


class RequestError(Exception):
    """An answer other than success. ``retry_after`` is set for answers a client should retry."""

    http_status = 500
    grpc_code = grpc.StatusCode.INTERNAL
    retry_after: int | None = None

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retry_after is not None:
            self.retry_after = retry_after


class BadRequest(RequestError):
    http_status = 400
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthorized(RequestError):
    http_status = 401
    grpc_code = grpc.StatusCode.UNAUTHENTICATED


class Forbidden(RequestError):
    http_status = 403
    grpc_code = grpc.StatusCode.PERMISSION_DENIED


class NotFound(RequestError):
    http_status = 404
    grpc_code = grpc.StatusCode.NOT_FOUND


class MethodNotAllowed(RequestError):
    http_status = 405
    grpc_code = grpc.StatusCode.UNIMPLEMENTED


class PayloadTooLarge(RequestError):
    http_status = 413
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class UnsupportedMediaType(RequestError):
    http_status = 415
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class TooManyRequests(RequestError):
    http_status = 429
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class ServiceUnavailable(RequestError):
    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE
