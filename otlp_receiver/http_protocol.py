"""uvicorn's HTTP protocol with the limits a public port needs, so idle or slow sockets never
starve the health probe or honest clients.

uvicorn closes a keep-alive connection only after an answer, and has no header timeout, header
size limit for httptools, or cap short of answering 503 to everyone. Here each connection must
send its request line and headers within ``header_timeout`` seconds and ``max_header_bytes``;
past ``max_connections`` the connection idle the longest (no request in progress, the slowloris
kind included) is closed to make room, so the process never reaches its file limit.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# File descriptors kept free of HTTP connections: database pool, gRPC, logs, the listening sockets.
_FILE_SHARE = 3 / 4


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int
    header_timeout: float
    max_header_bytes: int


def connection_cap(wanted: int) -> int:
    """Raise the soft file limit to the hard one and return a cap safely below it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, int(soft * _FILE_SHARE)))


def _closing_answer(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"message": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """The protocol class for uvicorn's ``http`` setting, bound to these limits."""

    class GuardedProtocol(HttpToolsProtocol):
        _idle_since: float
        _header_bytes: int
        _header_timer: asyncio.TimerHandle | None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer = None
            self._idle_since = time.monotonic()
            self._await_headers()
            if len(self.connections) > limits.max_connections:
                self._make_room()

        def _await_headers(self) -> None:
            """A request's headers are due: counted from the connection or the request's first byte
            (between requests, uvicorn's keep-alive timeout closes an idle connection)."""
            self._header_bytes = 0
            self._cancel_header_timer()
            self._header_timer = self.loop.call_later(limits.header_timeout, self._headers_too_slow)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

        def _is_idle(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _make_room(self) -> None:
            """Close the longest-idle other connection; with none idle, refuse this one."""
            others = (c for c in self.connections if c is not self and isinstance(c, GuardedProtocol))
            idle = [c for c in others if c._is_idle()]
            victim = min(idle, key=lambda c: c._idle_since) if idle else self
            victim.transport.close()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is not None:  # reading a request line and headers
                end = data.find(b"\r\n\r\n")
                self._header_bytes += len(data) if end < 0 else end + 4
                if self._header_bytes > limits.max_header_bytes:
                    self._cancel_header_timer()
                    limit = limits.max_header_bytes
                    message = f"request line and headers exceed {limit} bytes (DEVTEL_MAX_HEADER_BYTES)"
                    self.transport.write(_closing_answer(431, "Request Header Fields Too Large", message))
                    self.transport.close()
                    return
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:
                self._await_headers()

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._idle_since = time.monotonic()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

    return GuardedProtocol
