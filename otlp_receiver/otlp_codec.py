"""OTLP bodies in and out: binary protobuf, and OTLP/JSON as the specification defines it.

OTLP/JSON is proto3 JSON with three differences that matter here: trace and span ids are hex
(protobuf's JSON parser would read them as base64 into wrong bytes), enums arrive as integers,
and unknown fields must be ignored. 64-bit integers as strings or numbers and lowerCamelCase keys
are already proto3 JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2

from otlp_receiver.errors import BadRequest, UnsupportedMediaType

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
_ID_LENGTHS = {16, 8}

M = TypeVar("M", bound=Message)


def request_format(content_type: str | None) -> str:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in (PROTOBUF, JSON):
        return kind
    raise UnsupportedMediaType(
        f"Content-Type {kind or '(none)'!r} is not supported: send {PROTOBUF} or {JSON}"
    )


def _hex_ids_to_base64(node: Any) -> Any:
    """Rewrite OTLP/JSON's hex ids into the base64 that protobuf's JSON parser expects."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str) and value:
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    raise BadRequest(f"{key} {value[:40]!r} is not hex") from None
                if len(raw) not in _ID_LENGTHS:
                    raise BadRequest(f"{key} must be 16 or 8 bytes of hex, got {len(raw)} bytes")
                out[key] = base64.b64encode(raw).decode("ascii")
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def decode(body: bytes, fmt: str, message_type: type[M]) -> M:
    message = message_type()
    if fmt == PROTOBUF:
        try:
            message.ParseFromString(body)
        except (DecodeError, RecursionError) as exc:
            raise BadRequest(f"body is not a valid {message_type.__name__} protobuf: {exc}") from None
        return message
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise BadRequest("JSON nests too deeply") from None
    if not isinstance(document, dict):
        raise BadRequest(f"the body must be a JSON object ({message_type.__name__})")
    try:
        json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, RecursionError, ValueError) as exc:
        raise BadRequest(f"body is not a valid {message_type.__name__}: {exc}") from None
    return message


def encode(message: Message, fmt: str) -> bytes:
    if fmt == PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode("utf-8")


def status_body(code: int, message: str, fmt: str) -> bytes:
    """A google.rpc.Status, as OTLP/HTTP answers errors."""
    return encode(status_pb2.Status(code=code, message=message), fmt)
