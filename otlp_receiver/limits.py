"""Bounds on what one OTLP request may carry, checked before mapping.

The body limit caps bytes; these cap the shapes that cost memory and database rows per byte:
data points and log records, attributes on one item, and the distinct developers and installs
one request may write for. A Collector gateway batching many agents stays far below them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from agent import contract as c
from otlp_receiver.errors import BadRequest, PayloadTooLarge

_POINT_KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


@dataclass(frozen=True, slots=True)
class RequestLimits:
    items: int  # data points plus log records plus spans
    attributes: int  # on one resource, point, record or span
    developers: int  # distinct user.id values
    installs: int  # distinct service.instance.id values


def _string_attribute(attributes: Iterable[Any], key: str) -> str | None:
    for pair in attributes:
        if pair.key == key:
            return pair.value.string_value
    return None


def _items(resource_block: Any) -> Iterator[Any]:
    """Every point, record or span under one resource_metrics/_logs/_spans entry."""
    for scope in getattr(resource_block, "scope_metrics", ()):
        for metric in scope.metrics:
            kind = metric.WhichOneof("data")
            if kind in _POINT_KINDS:
                yield from getattr(metric, kind).data_points
    for scope in getattr(resource_block, "scope_logs", ()):
        yield from scope.log_records
    for scope in getattr(resource_block, "scope_spans", ()):
        yield from scope.spans


def _resources(request: Any) -> Iterable[Any]:
    for name in ("resource_metrics", "resource_logs", "resource_spans"):
        if hasattr(request, name):
            return getattr(request, name)
    return ()


def check_request(request: Any, limits: RequestLimits) -> None:
    """Raise 413/400 naming the limit (and its setting) the request passes; CPU work, no I/O."""
    items = 0
    developers: set[str] = set()
    installs: set[str] = set()
    for block in _resources(request):
        attributes = block.resource.attributes
        _check_attributes(len(attributes), limits, "a resource")
        developer = _string_attribute(attributes, c.RES_DEVELOPER_ID)
        if developer:
            developers.add(developer)
        install = _string_attribute(attributes, c.RES_INSTANCE_ID)
        if install:
            installs.add(install)
        for item in _items(block):
            items += 1
            _check_attributes(len(item.attributes), limits, "one item")
        if items > limits.items:
            raise PayloadTooLarge(
                f"the request holds more than {limits.items} data points/log records"
                " (DEVTEL_OTLP_MAX_ITEMS): split it"
            )
    for found, limit, what, setting in (
        (developers, limits.developers, "developers (user.id)", "DEVTEL_OTLP_MAX_DEVELOPERS"),
        (installs, limits.installs, "installs (service.instance.id)", "DEVTEL_OTLP_MAX_INSTALLS"),
    ):
        if len(found) > limit:
            raise PayloadTooLarge(f"the request names {len(found)} {what}; at most {limit} ({setting})")


def _check_attributes(count: int, limits: RequestLimits, where: str) -> None:
    if count > limits.attributes:
        raise BadRequest(
            f"{where} carries {count} attributes; at most {limits.attributes} (DEVTEL_OTLP_MAX_ATTRIBUTES)"
        )
