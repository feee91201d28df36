"""OTLP/JSON encoding. Not plain proto3 JSON: enums as integers, lowerCamelCase keys, and trace
and span ids as hex (json_format would write them as base64)."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

_HEX_FIELDS = ("traceId", "spanId")


def _hex_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (base64.b64decode(v).hex() if k in _HEX_FIELDS and isinstance(v, str) else _hex_ids(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def to_dict(message: Message) -> dict[str, Any]:
    return _hex_ids(json_format.MessageToDict(message, use_integers_for_enums=True))


def to_json(message: Message) -> bytes:
    return json.dumps(to_dict(message), separators=(",", ":")).encode()
