"""TLS for both ports, from PEM files, reloaded on SIGHUP without dropping a connection.

HTTP: uvicorn's SSLContext is loaded again in place (``load_cert_chain`` on a live context applies
to every later handshake). gRPC: dynamic server credentials, whose fetcher gRPC asks on each new
connection, hand over the new files once a reload has happened.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

log = logging.getLogger("devtel.receiver")


class TlsError(ValueError):
    """Files that cannot serve TLS; the message names the file and the option."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: str
    key: str
    client_ca: str | None = None  # set: clients must present a certificate it signed (mutual TLS)

    def _read(self, path: str, option: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise TlsError(f"{option} {path}: {exc.strerror}") from None

    def server_context(self) -> ssl.SSLContext:
        """Checked at start, so a wrong file is one clear error instead of failed handshakes."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.load_into(context)
        if self.client_ca:
            try:
                context.load_verify_locations(cafile=self.client_ca)
            except (OSError, ssl.SSLError) as exc:
                raise TlsError(f"--tls-client-ca {self.client_ca}: {exc}") from None
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def load_into(self, context: ssl.SSLContext) -> None:
        for path, option in ((self.cert, "--tls-cert"), (self.key, "--tls-key")):
            self._read(path, option)
        try:
            context.load_cert_chain(self.cert, self.key)
        except ssl.SSLError as exc:
            raise TlsError(f"--tls-cert {self.cert} / --tls-key {self.key}: {exc.reason or exc}") from None

    def grpc_config(self) -> Any:
        root = self._read(self.client_ca, "--tls-client-ca") if self.client_ca else None
        pair = [(self._read(self.key, "--tls-key"), self._read(self.cert, "--tls-cert"))]
        return grpc.ssl_server_certificate_configuration(pair, root_certificates=root)


class GrpcCredentials:
    """gRPC server credentials that pick up new files after ``reload``."""

    def __init__(self, files: TlsFiles) -> None:
        self._files = files
        self._fresh: Any = None
        self.credentials = grpc.dynamic_ssl_server_credentials(
            files.grpc_config(), self._fetch, require_client_authentication=files.client_ca is not None
        )

    def reload(self) -> None:
        self._fresh = self._files.grpc_config()

    def _fetch(self) -> Any:
        fresh, self._fresh = self._fresh, None
        return fresh


def reload_all(
    files: TlsFiles, http_context: ssl.SSLContext | None, grpc_credentials: GrpcCredentials | None
) -> None:
    """SIGHUP: read the files again; a broken new file keeps the old certificate (and is logged)."""
    try:
        if http_context is not None:
            files.load_into(http_context)
        if grpc_credentials is not None:
            grpc_credentials.reload()
    except TlsError as exc:
        log.error("TLS reload failed, the previous certificate stays: %s", exc)
        return
    log.info("TLS certificate and key reloaded")
