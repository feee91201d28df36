"""The legacy report route over real HTTP against a running receiver, on SQLite and MariaDB."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bridge.store.database import make_engine
from tests.otlp_receiver.conftest import Served
from tests.support.processes import create_connection

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
DEVLAKE_OK = {
    "code": 0,
    "success": True,
    "message": "telemetry data received successfully",
    "causes": None,
    "data": None,
}


def seed_body() -> dict[str, Any]:
    return json.loads((TESTDATA / "seed_report.json").read_text())


def stored(served: Served, developer: str) -> list[sa.Row]:
    engine = make_engine(served.receiver.db_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT * FROM _tool_developer_metrics WHERE connection_id = :c AND developer_id = :d"
                    ),
                    {"c": served.connection_id, "d": developer},
                )
            )
    finally:
        engine.dispose()


def post(served: Served, body: Any, **kwargs: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json", **served.auth(), **kwargs.pop("headers", {})}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(served.report_url, content=content, headers=headers, timeout=30, **kwargs)


def test_seed_curl_example_verbatim_lands_as_a_row(served: Served) -> None:
    """Section 6.2 of the seed, run with curl exactly as printed (URL and key substituted)."""
    if shutil.which("curl") is None:
        pytest.fail("curl is needed for the seed's own example")
    payload = (TESTDATA / "seed_report.json").read_text()
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            served.report_url,
            "-H",
            "Content-Type: application/json",
            "-H",
            f"Authorization: Bearer {served.api_key}",
            "-d",
            payload,
            "-w",
            "\n%{http_code}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    body, status = done.stdout.rsplit("\n", 1)
    assert status == "200", body
    assert json.loads(body) == DEVLAKE_OK
    (row,) = stored(served, "test.user")
    assert row.active_hours == 5 and row.email == "test@company.com" and row.hostname == "test-machine"


def test_seed_verification_query_returns_the_row(served: Served) -> None:
    """Section 6.3's SQL, verbatim but for the connection id; SQLite has JSON_EXTRACT too."""
    assert post(served, seed_body()).status_code == 200
    engine = make_engine(served.receiver.db_url)
    with engine.connect() as conn:
        result = conn.execute(
            sa.text(
                f"""SELECT
  developer_id,
  date,
  active_hours,
  JSON_EXTRACT(git_activity, '$.total_commits') as commits
FROM _tool_developer_metrics
WHERE connection_id = {served.connection_id}
ORDER BY date DESC
LIMIT 10;"""
            )
        ).all()
    engine.dispose()
    assert [(r.developer_id, str(r.date), r.active_hours, int(r.commits)) for r in result] == [
        ("test.user", "2026-02-19", 5, 3)
    ]


def test_gzip_body_is_accepted(served: Served) -> None:
    body = seed_body() | {"developer_id": "gzip.user"}
    response = post(served, gzip.compress(json.dumps(body).encode()), headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert len(stored(served, "gzip.user")) == 1


def test_same_developer_day_twice_keeps_one_row_with_the_second_values(served: Served) -> None:
    first = seed_body() | {"developer_id": "idem.user", "active_hours": 2}
    second = seed_body() | {"developer_id": "idem.user", "active_hours": 6}
    assert post(served, first).status_code == 200
    assert post(served, second).status_code == 200
    (row,) = stored(served, "idem.user")
    assert row.active_hours == 6


def test_fifty_concurrent_posts_of_one_day_give_one_row(served: Served) -> None:
    bodies = [seed_body() | {"developer_id": "race.user", "active_hours": i % 10} for i in range(50)]
    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(lambda b: post(served, b).status_code, bodies))
    assert statuses == [200] * 50
    assert len(stored(served, "race.user")) == 1


def _error(response: httpx.Response, status: int, says: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["code"] == status
    assert says in body["message"], body["message"]


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"{not json", "malformed JSON"),
        (b"", "empty"),
        (b"\xff\xfe", "UTF-8"),
        (b"[1, 2]", "body: must be an object"),
        (b'"text"', "body: must be an object"),
        (b"[" * 100000 + b"]" * 100000, "nests too deeply"),
    ],
)
def test_undecodable_bodies_are_400(served: Served, payload: bytes, says: str) -> None:
    _error(post(served, payload), 400, says)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"developer_id": None}, "developer_id: is required"),
        ({"date": None}, "date: is required"),
        ({"date": "2026-02-30"}, "not a real calendar date"),
        ({"active_hours": "5"}, "active_hours: must be a non-negative integer"),
        ({"git_activity": {"total_commits": -1}}, "git_activity.total_commits: must not be negative"),
        ({"tools_used": "vscode"}, "tools_used: must be an array"),
        ({"email": {"x": 1}}, "email: must be a string"),
        ({"hostname": "h" * 300}, "hostname: is 300 characters long"),
    ],
)
def test_invalid_fields_are_400_naming_the_field_and_change_nothing(
    served: Served, change: dict[str, Any], says: str
) -> None:
    body = copy.deepcopy(seed_body()) | {"developer_id": "bad.user"} | change
    body = {k: v for k, v in body.items() if v is not None}
    _error(post(served, body), 400, says)
    assert stored(served, "bad.user") == []


def test_missing_malformed_and_unknown_keys_are_401(served: Served) -> None:
    url = served.report_url
    body = json.dumps(seed_body())
    cases = [
        ({}, "missing Authorization"),
        ({"Authorization": "Token abc"}, "malformed Authorization"),
        ({"Authorization": "Bearer short"}, "malformed API key"),
        ({"Authorization": "Bearer " + "A" * 128}, "unknown API key"),
        ({"Authorization": "Basic !!!"}, "malformed Basic"),
    ]
    for headers, says in cases:
        response = httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers})
        _error(response, 401, says)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_basic_auth_with_connection_id_is_accepted(served: Served) -> None:
    token = base64.b64encode(f"{served.connection_id}:{served.api_key}".encode()).decode()
    body = seed_body() | {"developer_id": "basic.user"}
    response = post(served, body, headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 200, response.text


def test_key_of_another_connection_is_403_and_unknown_connection_404(served: Served) -> None:
    other_id, other_key = create_connection(served.receiver.db_url, f"other-{served.receiver.port}")
    body = json.dumps(seed_body() | {"developer_id": "cross.user"})
    response = httpx.post(
        served.report_url,
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {other_key}"},
    )
    _error(response, 403, f"not valid for connection {served.connection_id}")
    for missing in ("987654", "abc", "99999999999999999999999"):
        url = served.report_url.replace(f"/connections/{served.connection_id}/", f"/connections/{missing}/")
        _error(
            httpx.post(url, content=body, headers={"Content-Type": "application/json", **served.auth()}),
            404,
            "does not exist",
        )
    assert stored(served, "cross.user") == []
    assert other_id != served.connection_id


def test_wrong_content_type_is_415(served: Served) -> None:
    response = post(served, seed_body(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    _error(response, 415, "application/json")


def test_body_over_the_limit_after_decompression_is_413(served: Served) -> None:
    bomb = gzip.compress(b" " * (8 << 20))  # 8 MiB of spaces in about 8 KiB
    assert len(bomb) < 64 << 10
    _error(post(served, bomb, headers={"Content-Encoding": "gzip"}), 413, "after decompression")
    _error(post(served, b" " * ((1 << 20) + 1)), 413, "exceeds")


def test_bad_compression_is_400(served: Served) -> None:
    _error(post(served, b"not gzip", headers={"Content-Encoding": "gzip"}), 400, "not valid gzip")
    _error(post(served, b"{}", headers={"Content-Encoding": "br"}), 400, "unsupported Content-Encoding")


def test_path_without_rest_says_to_use_rest(served: Served) -> None:
    url = served.report_url.replace("/api/rest/", "/api/")
    _error(httpx.post(url, content=b"{}", headers=served.auth()), 401, "/api/rest/")


def test_wrong_method_and_unknown_path_answer_json(served: Served) -> None:
    response = httpx.get(served.report_url, headers=served.auth())
    assert response.status_code == 405 and "message" in response.json()
    response = httpx.get(served.receiver.url + "/nowhere")
    assert response.status_code == 404 and "message" in response.json()


def test_health_and_readiness(served: Served) -> None:
    assert httpx.get(served.receiver.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(served.receiver.url + "/readyz").json() == {"status": "ready"}


def test_api_key_never_appears_in_the_log(served: Served) -> None:
    post(served, seed_body())
    post(served, b"{broken")
    assert served.api_key not in served.receiver.log()
