"""Turning any failure into the right answer: domain errors mapped once, never a 500 for client data."""

from __future__ import annotations

import logging

from bridge.errors import InvalidReport, StorageUnavailable
from otlp_receiver.errors import BadRequest, RequestError, ServiceUnavailable

log = logging.getLogger("devtel.receiver")


def as_request_error(exc: BaseException, *, retry_after: int) -> RequestError:
    """The answer for ``exc``; anything unexpected is logged (without request data) and is a 500."""
    if isinstance(exc, RequestError):
        return exc
    if isinstance(exc, InvalidReport):
        return BadRequest(str(exc))
    if isinstance(exc, StorageUnavailable):
        log.warning("database unavailable: %s", exc)
        return ServiceUnavailable("the database is unavailable; retry later", retry_after=retry_after)
    log.exception("unexpected failure while handling a request")
    return RequestError("internal error")


def error_headers(error: RequestError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if error.http_status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="devtel"'
    return headers
