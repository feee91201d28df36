"""The allowlist processors of collector-config/agent-relay.yaml, written from agent/ai_contract.py: the
AI tools' metric and event names and the attribute keys each may keep, as a Collector filters them.
The test compares the file with this; ``python -m tests.collector_config.relay_allowlist`` prints
the two processors to paste into the file after the contract changed.

The agent's own telemetry (service.name devtel-agent) passes untouched: the agent cleaned it already.
"""

from __future__ import annotations

import json

import yaml

from agent import ai_contract as ai
from agent import contract as c

FILTER, TRANSFORM = "filter/ai_allowlist", "transform/ai_allowlist"
NOT_THE_AGENT = f'resource.attributes["{c.RES_SERVICE_NAME}"] != "{c.SERVICE_NAME}"'


def _keys(keys: frozenset[str] | tuple[str, ...]) -> str:
    return json.dumps(sorted(keys), separators=(", ", ": "))


def _none_of(path: str, names: list[str]) -> str:
    return " and ".join([NOT_THE_AGENT, *(f'{path} != "{name}"' for name in sorted(names))])


def processors() -> dict[str, dict]:
    """Drop every metric and event not on the allowlist, then every attribute key not listed for it."""
    resource = (
        f"keep_keys(attributes, {_keys(ai.RESOURCE_KEYS | set(ai.IDENTITY_KEYS))})"
        f' where attributes["{c.RES_SERVICE_NAME}"] != "{c.SERVICE_NAME}"'
    )
    points = [
        f"keep_keys(attributes, {_keys(ai.allowed_point_keys(name) or frozenset())})"
        f' where metric.name == "{name}"'
        for name in sorted(ai.METRICS)
    ]
    records = [
        f"keep_keys(attributes, {_keys(ai.allowed_event_keys(name) or frozenset())})"
        f' where attributes["event.name"] == "{name}"'
        for name in sorted(ai.EVENTS)
    ]
    return {
        FILTER: {
            "error_mode": "ignore",
            "metrics": {"metric": [_none_of("name", list(ai.METRICS))]},
            "logs": {"log_record": [_none_of('attributes["event.name"]', list(ai.EVENTS))]},
        },
        TRANSFORM: {
            "error_mode": "ignore",
            "metric_statements": [
                {"context": "resource", "statements": [resource]},
                {"context": "datapoint", "statements": points},
            ],
            "log_statements": [
                {"context": "resource", "statements": [resource]},
                {"context": "log", "statements": [*records, f'set(body, "") where {NOT_THE_AGENT}']},
            ],
        },
    }


if __name__ == "__main__":
    print(yaml.safe_dump(processors(), sort_keys=False, width=10_000))
