"""The database going away under a running receiver: 503 with Retry-After, then recovery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support.processes import RunningReceiver, create_connection, start_receiver
from tests.support.tcp_proxy import TcpProxy

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"


@pytest.fixture
def behind_proxy(mysql_url: str, tmp_path: Path) -> Iterator[tuple[RunningReceiver, TcpProxy, int, str]]:
    url = sa.engine.make_url(mysql_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 3306).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    connection_id, api_key = create_connection(proxied, f"outage-{proxy.port}")
    receiver = start_receiver(proxied, tmp_path)
    yield receiver, proxy, connection_id, api_key
    receiver.stop()
    proxy.close()


def test_unreachable_database_is_503_with_retry_after_then_recovers(behind_proxy) -> None:
    receiver, proxy, connection_id, api_key = behind_proxy
    url = f"{receiver.url}/api/rest/plugins/developer_telemetry/connections/{connection_id}/report"
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    body = json.loads((TESTDATA / "seed_report.json").read_text())

    assert httpx.post(url, json=body, headers=headers).status_code == 200
    proxy.cut()
    down = httpx.post(url, json=body | {"active_hours": 9}, headers=headers, timeout=30)
    assert down.status_code == 503, down.text
    assert int(down.headers["Retry-After"]) > 0
    assert down.json()["success"] is False
    ready = httpx.get(f"{receiver.url}/readyz", timeout=30)
    assert ready.status_code == 503 and "Retry-After" in ready.headers

    proxy.restore()
    up = httpx.post(url, json=body | {"active_hours": 9}, headers=headers, timeout=30)
    assert up.status_code == 200, up.text
    assert httpx.get(f"{receiver.url}/readyz").status_code == 200
    assert "Traceback" not in receiver.log()
