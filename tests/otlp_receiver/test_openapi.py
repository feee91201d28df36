"""schemathesis against the receiver's OpenAPI description: generated requests for every route,
authenticated and not, never get a 5xx nor a redirect."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from tests.otlp_receiver.conftest import Served

SCHEMA = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml")


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case: schemathesis.Case, served: Served) -> None:
    target = (case.path_parameters or {}).get("connection_id")
    if isinstance(target, int) and target % 2:
        case.path_parameters["connection_id"] = served.connection_id  # half aimed at the real connection
    for headers in (served.auth(), {}):
        response = case.call(base_url=served.receiver.url, headers=headers, timeout=30)
        assert response.status_code < 500, (response.status_code, response.text)
        assert response.status_code not in (301, 302, 307, 308)
