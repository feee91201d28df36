"""The legacy DevLake JSON webhook: the nested body the deployed collector sends, with a
Bearer key. The optional secondary webhook is fire-and-forget on a daemon thread: whatever it
does (hang, refuse, fail) the primary is sent and its result alone counts."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from agent.config import SinkConfig
from agent.emit import KIND_DAY, Export
from agent.sinks import Payload, SendResult, json_bytes, redact_headers
from agent.sinks.http import post

SECONDARY_TIMEOUT = 5.0
_JSON = {"Content-Type": "application/json"}


class DevLakeSink:
    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        self._secondaries: list[threading.Thread] = []
        self.headers = {**config.headers, **_JSON}

    def render(self, export: Export) -> list[Payload]:
        if export.kind != KIND_DAY or export.report is None:
            return []  # the legacy route only takes day reports
        return [Payload("report", json_bytes(export.report))]

    def send(self, payload: Payload) -> SendResult:
        if self.config.secondary_url:
            # The primary's key is not the secondary's business: send it the body only.
            thread = threading.Thread(
                target=post,
                args=(self.config.secondary_url, payload.body, _JSON),
                kwargs={"timeout": SECONDARY_TIMEOUT, "gzip_body": False},
                daemon=True,
            )
            thread.start()
            self._secondaries = [t for t in self._secondaries if t.is_alive()] + [thread]
        return post(
            self.config.endpoints["report"],
            payload.body,
            self.headers,
            timeout=self.config.timeout,
            gzip_body=False,
            cafile=self.config.certificate,
        )

    def close(self, timeout: float) -> None:
        """Give the secondary copies a moment before the process exits; never more than ``timeout``."""
        deadline = time.monotonic() + timeout
        for thread in self._secondaries:
            thread.join(max(0.0, deadline - time.monotonic()))

    def describe(self, payload: Payload) -> dict[str, Any]:
        described = {
            "signal": payload.signal,
            "url": self.config.endpoints["report"],
            "content_type": "application/json",
            "headers": redact_headers(self.headers),
            "bytes": len(payload.body),
            "body": json.loads(payload.body),
        }
        if self.config.secondary_url:
            described["secondary_url"] = self.config.secondary_url
        return described
