"""The receiver's settings: every environment variable it reads, with its default, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bridge.mapping.dates import min_date
from bridge.store.ai_store import DEFAULT_SECONDS_PER_LINE as DEFAULT_AI_SECONDS_PER_LINE
from bridge.store.retention import DEFAULT_AI_RETENTION_DAYS
from otlp_receiver.limits import RequestLimits
from otlp_receiver.logs import FORMATS as LOG_FORMATS
from otlp_receiver.tls import TlsError, TlsFiles

# Environment variables (each also a command-line option of `devtel-receiver serve`).
DB_URL_ENV = "DEVTEL_DB_URL"  # SQLAlchemy URL; default: the embedded SQLite file
HOST_ENV = "DEVTEL_RECEIVER_HOST"  # default 127.0.0.1
PORT_ENV = "DEVTEL_RECEIVER_PORT"  # default 4318 (OTLP/HTTP)
GRPC_PORT_ENV = "DEVTEL_RECEIVER_GRPC_PORT"  # default 4317; 0 turns gRPC off
LEGACY_MAX_BODY_ENV = "DEVTEL_LEGACY_MAX_BODY_BYTES"  # default 1 MiB, after decompression
OTLP_MAX_BODY_ENV = "DEVTEL_OTLP_MAX_BODY_BYTES"  # default 16 MiB, after decompression
MAX_PENDING_ENV = "DEVTEL_MAX_PENDING_WRITES"  # default 2000 requests waiting; past it 429
RETRY_AFTER_ENV = "DEVTEL_RETRY_AFTER_SECONDS"  # default 5, sent with 503 and 429
AI_SECONDS_PER_LINE_ENV = "DEVTEL_AI_SECONDS_PER_LINE"  # default 12: time saved per accepted AI line
AI_RETENTION_ENV = "DEVTEL_AI_RETENTION_DAYS"  # default 90: AI rows older than this are pruned daily
WORKERS_ENV = "DEVTEL_RECEIVER_WORKERS"  # default 1: receiver processes sharing the ports (MySQL only)
DEVLAKE_SECRET_ENV = "DEVTEL_DEVLAKE_ENCRYPTION_SECRET"
DB_UPGRADE_ENV = "DEVTEL_DB_UPGRADE"  # "1": serve upgrades an older schema at start
# What one OTLP request may carry (otlp_receiver/limits.py); past it 413 (400 for attributes).
MAX_ITEMS_ENV = "DEVTEL_OTLP_MAX_ITEMS"  # default 50000 data points + log records per request
MAX_ATTRIBUTES_ENV = "DEVTEL_OTLP_MAX_ATTRIBUTES"  # default 128 per resource, point or record
MAX_DEVELOPERS_ENV = "DEVTEL_OTLP_MAX_DEVELOPERS"  # default 1000 distinct user.id per request
MAX_INSTALLS_ENV = "DEVTEL_OTLP_MAX_INSTALLS"  # default 1000 distinct service.instance.id per request
# Connections (otlp_receiver/http_protocol.py).
MAX_CONNECTIONS_ENV = "DEVTEL_MAX_CONNECTIONS"  # default 2000, never above 3/4 of the file limit
HEADER_TIMEOUT_ENV = "DEVTEL_HEADER_TIMEOUT_SECONDS"  # default 10: a request's headers must arrive by then
KEEPALIVE_ENV = "DEVTEL_KEEPALIVE_SECONDS"  # default 15: an idle keep-alive connection is closed after
MAX_HEADER_BYTES_ENV = "DEVTEL_MAX_HEADER_BYTES"  # default 16384: request line and headers; past it 431
TLS_CERT_ENV = "DEVTEL_TLS_CERT"  # PEM certificate (chain) for both ports; with TLS_KEY turns TLS on
TLS_KEY_ENV = "DEVTEL_TLS_KEY"  # its PEM private key
TLS_CLIENT_CA_ENV = "DEVTEL_TLS_CLIENT_CA"  # PEM CA bundle: clients must present a certificate it signed
LOG_FORMAT_ENV = "DEVTEL_LOG_FORMAT"  # text (default) or json: one event per line either way
ACCESS_LOG_ENV = "DEVTEL_ACCESS_LOG"  # true: a line per request (client address, method, path, status)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
DEFAULT_GRPC_PORT = 4317
DEFAULT_LEGACY_MAX_BODY = 1 << 20
DEFAULT_OTLP_MAX_BODY = 16 << 20
DEFAULT_MAX_PENDING = 2000
DEFAULT_RETRY_AFTER = 5
DEFAULT_WORKERS = 1
MAX_WORKERS = 64
DEFAULT_MAX_ITEMS = 50_000
DEFAULT_MAX_ATTRIBUTES = 128  # the OpenTelemetry SDK's own default attribute count limit
DEFAULT_MAX_DEVELOPERS = 1000
DEFAULT_MAX_INSTALLS = 1000
DEFAULT_MAX_CONNECTIONS = 2000
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_KEEPALIVE = 15.0
DEFAULT_MAX_HEADER_BYTES = 16 * 1024


class SettingsError(ValueError):
    """A setting with a value the receiver cannot use; the message names it."""


def _int_env(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _seconds_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise SettingsError(f"{name}={raw} must be from 0 to 3600 seconds")
    return value


def ai_retention_days() -> int:
    """DEVTEL_AI_RETENTION_DAYS, for `serve` and `prune` alike."""
    return _int_env(AI_RETENTION_ENV, DEFAULT_AI_RETENTION_DAYS, minimum=1)


@dataclass(frozen=True, slots=True)
class ReceiverSettings:
    db_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    grpc_port: int = DEFAULT_GRPC_PORT
    legacy_max_body: int = DEFAULT_LEGACY_MAX_BODY
    otlp_max_body: int = DEFAULT_OTLP_MAX_BODY
    max_pending: int = DEFAULT_MAX_PENDING
    retry_after: int = DEFAULT_RETRY_AFTER
    ai_seconds_per_line: float = DEFAULT_AI_SECONDS_PER_LINE
    ai_retention_days: int = DEFAULT_AI_RETENTION_DAYS
    workers: int = DEFAULT_WORKERS
    # DevLake's ENCRYPTION_SECRET, to accept DevLake's own API keys; never printed (repr=False).
    devlake_encryption_secret: str | None = field(default=None, repr=False)
    db_upgrade: bool = False  # upgrade an older schema at start (else serve refuses to start)
    max_items: int = DEFAULT_MAX_ITEMS
    max_attributes: int = DEFAULT_MAX_ATTRIBUTES
    max_developers: int = DEFAULT_MAX_DEVELOPERS
    max_installs: int = DEFAULT_MAX_INSTALLS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keepalive: float = DEFAULT_KEEPALIVE
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    log_format: str = "text"
    access_log: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None

    @classmethod
    def from_env(cls, db_url: str, **overrides: object) -> ReceiverSettings:
        """Environment first, then explicit options (None means "not given")."""
        values: dict[str, object] = {
            "host": os.environ.get(HOST_ENV) or DEFAULT_HOST,
            "port": _int_env(PORT_ENV, DEFAULT_PORT),
            "grpc_port": _int_env(GRPC_PORT_ENV, DEFAULT_GRPC_PORT),
            "legacy_max_body": _int_env(LEGACY_MAX_BODY_ENV, DEFAULT_LEGACY_MAX_BODY, minimum=1),
            "otlp_max_body": _int_env(OTLP_MAX_BODY_ENV, DEFAULT_OTLP_MAX_BODY, minimum=1),
            "max_pending": _int_env(MAX_PENDING_ENV, DEFAULT_MAX_PENDING, minimum=1),
            "retry_after": _int_env(RETRY_AFTER_ENV, DEFAULT_RETRY_AFTER, minimum=1),
            "ai_seconds_per_line": _seconds_env(AI_SECONDS_PER_LINE_ENV, DEFAULT_AI_SECONDS_PER_LINE),
            "ai_retention_days": ai_retention_days(),
            "workers": _int_env(WORKERS_ENV, DEFAULT_WORKERS, minimum=1),
            "devlake_encryption_secret": os.environ.get(DEVLAKE_SECRET_ENV) or None,
            "db_upgrade": os.environ.get(DB_UPGRADE_ENV, "") == "1",
            "max_items": _int_env(MAX_ITEMS_ENV, DEFAULT_MAX_ITEMS, minimum=1),
            "max_attributes": _int_env(MAX_ATTRIBUTES_ENV, DEFAULT_MAX_ATTRIBUTES, minimum=1),
            "max_developers": _int_env(MAX_DEVELOPERS_ENV, DEFAULT_MAX_DEVELOPERS, minimum=1),
            "max_installs": _int_env(MAX_INSTALLS_ENV, DEFAULT_MAX_INSTALLS, minimum=1),
            "max_connections": _int_env(MAX_CONNECTIONS_ENV, DEFAULT_MAX_CONNECTIONS, minimum=1),
            "header_timeout": _seconds_env(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT),
            "keepalive": _seconds_env(KEEPALIVE_ENV, DEFAULT_KEEPALIVE),
            "max_header_bytes": _int_env(MAX_HEADER_BYTES_ENV, DEFAULT_MAX_HEADER_BYTES, minimum=1024),
            "log_format": os.environ.get(LOG_FORMAT_ENV) or "text",
            "access_log": os.environ.get(ACCESS_LOG_ENV, "").strip().lower() in ("1", "true", "yes"),
            "tls_cert": os.environ.get(TLS_CERT_ENV) or None,
            "tls_key": os.environ.get(TLS_KEY_ENV) or None,
            "tls_client_ca": os.environ.get(TLS_CLIENT_CA_ENV) or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(db_url=db_url, **values)  # type: ignore[arg-type]
        settings.check_workers()
        try:
            min_date()  # DEVTEL_MIN_DATE, checked now: a bad value stops serve, not every report
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        settings.check_ports()
        tls = settings.tls_files()
        if tls is not None:
            try:
                tls.server_context()
            except TlsError as exc:
                raise SettingsError(str(exc)) from None
        if settings.log_format not in LOG_FORMATS:
            raise SettingsError(
                f"--log-format / {LOG_FORMAT_ENV} must be text or json, not {settings.log_format!r}"
            )
        return settings

    def check_ports(self) -> None:
        """A port past 65535 must be refused, never wrapped or handed to the OS to reinterpret."""
        for name, port, lowest in (("--port", self.port, 1), ("--grpc-port", self.grpc_port, 0)):
            if not lowest <= port <= 65535:
                raise SettingsError(f"{name} {port} is out of range: {lowest} to 65535")

    def tls_files(self) -> TlsFiles | None:
        """None for plain HTTP (loopback, or behind a proxy that ends TLS)."""
        if not self.tls_cert and not self.tls_key:
            if self.tls_client_ca:
                raise SettingsError("--tls-client-ca needs --tls-cert and --tls-key")
            return None
        if not (self.tls_cert and self.tls_key):
            raise SettingsError("--tls-cert and --tls-key go together: give both or neither")
        return TlsFiles(self.tls_cert, self.tls_key, self.tls_client_ca)

    def request_limits(self) -> RequestLimits:
        return RequestLimits(self.max_items, self.max_attributes, self.max_developers, self.max_installs)

    def check_workers(self) -> None:
        if not 1 <= self.workers <= MAX_WORKERS:
            raise SettingsError(
                f"--workers / {WORKERS_ENV} must be between 1 and {MAX_WORKERS}, not {self.workers}"
            )
        if self.workers > 1 and self.db_url.startswith("sqlite"):
            raise SettingsError(
                "several workers need MySQL/MariaDB: SQLite takes one writer at a time,"
                " so the others would only wait"
            )
