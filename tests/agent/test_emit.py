"""Encoding an export with the OpenTelemetry SDK: robust to a process that stalls mid-collection."""

from __future__ import annotations

import time

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.resources import Resource

from agent import emit


def test_a_collection_stalled_past_the_sdks_10s_deadline_still_encodes() -> None:
    """A laptop suspended (or a starved thread) mid-collection used to raise MetricsTimeoutError,
    which `devtel-agent run` does not catch; the reliability suite's 200-agent load found it."""

    def late(_options: CallbackOptions) -> list[Observation]:
        time.sleep(10.5)  # the SDK's default collection deadline is 10 s, checked between gauges
        return [Observation(3, {"devtel.date": "2026-05-01"})]

    def build(meter: Meter) -> None:
        meter.create_observable_gauge("devtel.test.stalled", callbacks=[late])
        meter.create_observable_gauge("devtel.test.next", callbacks=[lambda _o: [Observation(4, {})]])

    request = emit._metrics(Resource.create({}), build)
    metrics = request.resource_metrics[0].scope_metrics[0].metrics
    assert {m.name: [p.as_int for p in m.gauge.data_points] for m in metrics} == {
        "devtel.test.stalled": [3],
        "devtel.test.next": [4],
    }
