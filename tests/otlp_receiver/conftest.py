"""A real `devtel-receiver serve` per database backend, with one connection made by the real CLI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.processes import RunningReceiver, create_connection, free_port, start_receiver


@dataclass
class Served:
    receiver: RunningReceiver
    connection_id: int
    api_key: str

    @property
    def report_url(self) -> str:
        path = f"/api/rest/plugins/developer_telemetry/connections/{self.connection_id}/report"
        return self.receiver.url + path

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("receiver")
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'receiver.db'}"
    else:
        db_url = request.getfixturevalue("mysql_url")
    connection_id, api_key = create_connection(db_url, f"conn-{workdir.name}")
    receiver = start_receiver(db_url, workdir, grpc_port=free_port())
    yield Served(receiver, connection_id, api_key)
    assert receiver.stop() == 0, receiver.log()
