"""The AI CLIs' figures under ``make bench``: every transport each real CLI offers, both temporalities,
directly to the receiver and through `devtel-agent run`'s relay. Each row is a measure as the CLI
reported it (its own JSON totals, the lines in the file it wrote, Codex's turns, the requests the
model mock received) and as devtel stored it, the temporality the CLI really sent (read by a wiretap;
it must be the one asked for), plus the attribute keys that left the relay off the allowlist (must be
0). Prints a Markdown table.

``DEVTEL_BENCH_AI_CLIS=claude,codex`` narrows the run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ai_clis import clis, relay, session
from tests.support.processes import create_connection, free_port, start_receiver

pytestmark = [
    pytest.mark.benchmark,
    pytest.mark.skipif(not clis.installed(), reason="run scripts/bootstrap.sh system (npm ci)"),
]
PROTOCOLS = {
    "claude": ("http/protobuf", "http/json", "grpc"),
    "gemini": ("grpc", "http/json"),  # Gemini CLI's "http" is OTLP/JSON; it has no OTLP/protobuf over HTTP
    "codex": ("http/protobuf", "http/json", "grpc"),
}
COLUMNS = (
    "tokens",
    "cost_usd",
    "lines_added",
    "suggestions_shown",
    "suggestions_accepted",
    "turns",
    "api_requests",
)


def _cell(reported: float | None, stored: float) -> str:
    return f"{stored:g} (CLI: n/a)" if reported is None else f"{reported:g} / {stored:g}"


def test_every_transport_of_every_cli(tmp_path: Path) -> None:
    chosen = os.environ.get("DEVTEL_BENCH_AI_CLIS", "claude,gemini,codex").split(",")
    db_url = f"sqlite:///{tmp_path / 'receiver.db'}"
    connection_id, key = create_connection(db_url, "bench-ai")
    receiver = start_receiver(db_url, tmp_path, grpc_port=free_port())
    rows = [
        "| CLI | transport | temporality asked / sent | path | "
        + " | ".join(COLUMNS)
        + " | keys off allowlist |",
        "|---" * (len(COLUMNS) + 5) + "|",
    ]
    mismatches = []
    try:
        cases = [
            (tool, protocol, cumulative, path)
            for tool in chosen
            for protocol in PROTOCOLS[tool]
            for cumulative in (False, True)
            for path in ("direct", "relay")
        ]
        for n, (cli, protocol, cumulative, path) in enumerate(cases):
            case = tmp_path / f"case-{n}"
            case.mkdir()
            developer = f"{cli}-{n}@example.com"
            off: list[str] | str = "-"
            if path == "direct":
                endpoint = f"http://127.0.0.1:{receiver.grpc_port}" if protocol == "grpc" else receiver.url
                export = clis.Export(
                    endpoint,
                    protocol,
                    {"Authorization": f"Bearer {key}"},
                    cumulative,
                    f"user.email={developer}",
                )
                want, sent = session.run_tapped(cli, case, export)
                found = session.wait_stored(db_url, connection_id, developer, cli, want)
            else:
                login = f"login-{n}"
                with relay.running_relay(case, receiver.url, key, login=login) as agent:
                    export = clis.Export(agent.endpoint(protocol), protocol, {}, cumulative)
                    want, sent = session.run_tapped(cli, case, export)
                    found = session.wait_stored(db_url, connection_id, login, cli, want)
                    off = relay.keys_off_the_allowlist(agent.tap)
            reported = (
                want.tokens,
                want.cost_usd,
                want.lines_added,
                want.shown,
                want.accepted,
                want.turns,
                want.api_requests,
            )
            stored = tuple(found[c] for c in COLUMNS)
            # What a CLI does not report (None) must be stored as nothing, not invented.
            if (
                any(r != pytest.approx(s) for r, s in zip(reported, stored, strict=True) if r is not None)
                or any(s != 0 for r, s in zip(reported, stored, strict=True) if r is None and s is not None)
                or off not in ("-", [])
                or sent != session.asked(export)
            ):
                mismatches.append((cli, protocol, cumulative, path, reported, stored, sorted(sent), off))
            cells = " | ".join(_cell(r, s) for r, s in zip(reported, stored, strict=True))
            temporality = f"{'/'.join(session.asked(export))} / {'/'.join(sorted(sent)) or 'none'}"
            rows.append(
                f"| {cli} | {protocol} | {temporality} | {path} | {cells} | "
                f"{off if off == '-' else len(off)} |"
            )
    finally:
        receiver.stop()
    print("\n" + "\n".join(rows))
    assert mismatches == []
