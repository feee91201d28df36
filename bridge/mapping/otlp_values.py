"""OTLP AnyValue and attribute lists as plain Python values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: any_value(pair.value) for pair in pairs}


def to_any_value(value: Any) -> AnyValue:
    """The inverse of any_value, for what devtel itself sends (fake team, tests)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    out = AnyValue()
    if isinstance(value, dict):
        out.kvlist_value.values.extend(to_key_values(value))
    elif isinstance(value, (list, tuple)):
        out.array_value.values.extend(to_any_value(v) for v in value)
    else:
        raise TypeError(f"no OTLP AnyValue for {type(value).__name__}")
    return out


def to_key_values(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=to_any_value(value)) for key, value in attrs.items()]
