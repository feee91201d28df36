"""The legacy DevLake report route, kept for the collectors and curl scripts already in the field."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from bridge.mapping.legacy import parse_report
from bridge.mapping.legacy_snapshots import legacy_snapshots
from otlp_receiver.auth import parse_authorization
from otlp_receiver.body import decode_json, read_body, require_json
from otlp_receiver.errors import RequestError, Unauthorized
from otlp_receiver.responses import as_request_error, error_headers
from otlp_receiver.state import ReceiverState

REPORT_PATH = "/api/rest/plugins/developer_telemetry/connections/{connection_id}/report"
# DevLake's backend without its UI proxy: /rest/... checks keys; /plugins/... (no key check in
# DevLake) is served here with the same key check, so no path writes without a key.
BACKEND_PATHS = (
    "/rest/plugins/developer_telemetry/connections/{connection_id}/report",
    "/plugins/developer_telemetry/connections/{connection_id}/report",
)
NON_REST_PATH = "/api/plugins/developer_telemetry/connections/{connection_id}/report"
_SUCCESS_MESSAGE = "telemetry data received successfully"
_MAX_BIGINT = 2**63 - 1


def devlake_body(status: int, message: str) -> JSONResponse:
    """DevLake's own answer shape, so scripts that parse it keep working."""
    ok = status < 400
    body = {"code": 0 if ok else status, "success": ok, "message": message, "causes": None, "data": None}
    return JSONResponse(body, status_code=status)


def _addressed_connection(raw: str) -> int:
    """The id in the path: ASCII digits only (int() would read "١" as 1); anything else is no id."""
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= _MAX_BIGINT else -1


async def report(request: Request) -> JSONResponse:
    state: ReceiverState = request.app.state.receiver
    try:
        credentials = parse_authorization(request.headers.get("authorization"))
        target = _addressed_connection(request.path_params["connection_id"])
        connection_id = await state.keys.authenticate(credentials, target, request.url.path)
        require_json(request.headers.get("content-type"))
        body = await read_body(
            request.stream(), request.headers.get("content-encoding", ""), state.settings.legacy_max_body
        )
        day = parse_report(decode_json(body), connection_id)
        await state.legacy_writer.submit(legacy_snapshots(day))
    except Exception as exc:
        error = as_request_error(exc, retry_after=state.settings.retry_after)
        response = devlake_body(error.http_status, error.message)
        response.headers.update(error_headers(error))
        return response
    return devlake_body(200, _SUCCESS_MESSAGE)


async def non_rest_report(request: Request) -> JSONResponse:
    """DevLake checks API keys only under /rest/; say so instead of a bare 401."""
    rest_path = REPORT_PATH.format(connection_id=request.path_params["connection_id"])
    error: RequestError = Unauthorized(f"API keys are only accepted under /api/rest/: post to {rest_path}")
    response = devlake_body(error.http_status, error.message)
    response.headers.update(error_headers(error))
    return response
