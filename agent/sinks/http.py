"""One HTTP POST with the standard library: no redirects followed, Retry-After parsed,
network trouble reported as a retryable result rather than raised."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import ssl
import time
import urllib.parse

from agent.sinks import Outcome, SendResult, classify_http


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    gzip_body: bool,
    cafile: str | None = None,
) -> SendResult:
    parts = urllib.parse.urlsplit(url)
    all_headers = dict(headers)
    if gzip_body:
        body = gzip.compress(body)
        all_headers["Content-Encoding"] = "gzip"
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    host = parts.hostname or "localhost"
    try:
        conn: http.client.HTTPConnection = (
            http.client.HTTPSConnection(
                host, parts.port, timeout=timeout, context=ssl.create_default_context(cafile=cafile)
            )
            if parts.scheme == "https"
            else http.client.HTTPConnection(host, parts.port, timeout=timeout)
        )
    except (OSError, ssl.SSLError) as exc:  # an unreadable CA bundle
        return SendResult(Outcome.RETRY, f"tls: {exc}"[:200])
    try:
        conn.request("POST", path, body=body, headers=all_headers)
        response = conn.getresponse()
        text = response.read(512).decode("utf-8", "replace").strip().replace("\n", " ")[:200]
        return classify_http(response.status, text, parse_retry_after(response.getheader("Retry-After")))
    except (OSError, http.client.HTTPException) as exc:
        return SendResult(Outcome.RETRY, f"network: {type(exc).__name__}: {exc}"[:200])
    finally:
        conn.close()
