"""The receiver's settings: every environment variable it reads, with its default, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bridge.ai_store import DEFAULT_SECONDS_PER_LINE as DEFAULT_AI_SECONDS_PER_LINE
from bridge.dates import min_date
from bridge.retention import DEFAULT_AI_RETENTION_DAYS

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

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
DEFAULT_GRPC_PORT = 4317
DEFAULT_LEGACY_MAX_BODY = 1 << 20
DEFAULT_OTLP_MAX_BODY = 16 << 20
DEFAULT_MAX_PENDING = 2000
DEFAULT_RETRY_AFTER = 5
DEFAULT_WORKERS = 1
MAX_WORKERS = 64


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
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(db_url=db_url, **values)  # type: ignore[arg-type]
        settings.check_workers()
        try:
            min_date()  # DEVTEL_MIN_DATE, checked now: a bad value stops serve, not every report
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        return settings

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
