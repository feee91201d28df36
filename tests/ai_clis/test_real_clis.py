"""The real Claude Code, Gemini CLI and Codex (pinned in tests/ai_clis/package.json), each run once
against a mock of its model API, exporting OTLP to the real devtel receiver: what the receiver
stored must equal what the CLI itself reported (its JSON totals, Codex's turns, Gemini CLI's API
requests), what the model mock received (Codex's API requests) and the edits it left in the files. A
wiretap on the way reads the temporality the CLI really sent, which must be the one
OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE asked for.

The whole transport matrix (every protocol, both temporalities, direct and through the relay) runs
in tests/benchmarks/test_bench_ai_clis.py; here one transport per CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ai_clis import clis, relay, session
from tests.ai_clis import model_mocks as mocks
from tests.support.ci import unavailable
from tests.support.processes import RunningReceiver, create_connection, free_port, start_receiver

OPERATOR = "user.email=ana@example.com"


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningReceiver, int, str]]:
    if not clis.installed():
        unavailable("the AI CLIs are not installed: run scripts/bootstrap.sh system (npm ci)")
    tmp = tmp_path_factory.mktemp("ai-receiver")
    db_url = f"sqlite:///{tmp / 'receiver.db'}"
    connection_id, key = create_connection(db_url, "ai-clis")
    running = start_receiver(db_url, tmp, grpc_port=free_port())
    yield running, connection_id, key
    running.stop()


def _check(found: dict, want: session.Expected) -> None:
    assert found["tokens"] == want.tokens
    if want.cost_usd is not None:
        assert found["cost_usd"] == pytest.approx(want.cost_usd)
    assert found["lines_added"] == want.lines_added
    assert (found["suggestions_shown"], found["suggestions_accepted"]) == (want.shown, want.accepted)
    assert found["sessions"] == 1
    # A CLI that does not count turns or API requests has none stored: nothing is invented.
    assert (found["turns"], found["api_requests"]) == (want.turns or 0, want.api_requests or 0)


@pytest.mark.parametrize(
    ("cli", "protocol", "cumulative"),
    [("claude", "http/protobuf", False), ("gemini", "grpc", False), ("codex", "http/json", True)],
)
def test_the_receiver_stores_what_the_cli_reported(
    receiver: tuple[RunningReceiver, int, str], tmp_path: Path, cli: str, protocol: str, cumulative: bool
) -> None:
    running, connection_id, key = receiver
    endpoint = f"http://127.0.0.1:{running.grpc_port}" if protocol == "grpc" else running.url
    developer = f"{cli}-dev@example.com"
    export = clis.Export(
        endpoint, protocol, {"Authorization": f"Bearer {key}"}, cumulative, f"user.email={developer}"
    )
    want, sent = session.run_tapped(cli, tmp_path, export)
    found = session.wait_stored(running.db_url, connection_id, developer, cli, want)
    _check(found, want)
    assert sent == session.asked(export), "the CLI sends the temporality it was asked for"
    if cli == "claude":  # its active-time counter is kept (the other two send none)
        assert found["active_s"] > 0
    if cli != "codex":  # Codex names no language anywhere
        assert found["languages"] == ["python"]
    assert want.accepted == 1 and want.lines_added == 4, "the script ran to its end"
    if cli == "codex":  # one prompt is one turn; one model call per tool round trip and the answer
        assert (want.turns, want.api_requests) == (1, len(mocks.STEPS[cli](tmp_path)))


def test_through_the_relay_the_agents_identity_and_only_allowlisted_keys(
    receiver: tuple[RunningReceiver, int, str], tmp_path: Path
) -> None:
    """Claude Code over OTLP/JSON, cumulative, through `devtel-agent run`: the same totals, stored
    under the agent's identity, and no attribute key off the allowlist left the relay."""
    running, connection_id, key = receiver
    with relay.running_relay(tmp_path, running.url, key) as agent:
        export = clis.Export(agent.endpoint("http/json"), "http/json", {}, cumulative=True)
        want, sent = session.run_tapped("claude", tmp_path, export)
        found = session.wait_stored(running.db_url, connection_id, relay.LOGIN, "claude", want)
        _check(found, want)
        assert sent == session.asked(export)
        assert found["languages"] == ["python"]
        assert agent.tap.ok(), "the agent sent the relayed data on"
        assert relay.keys_off_the_allowlist(agent.tap) == []
        sent = agent.tap.raw_bytes()
        assert str(tmp_path).encode() not in sent and mocks.NEW_FILE.encode() not in sent
