"""One scripted session of a real AI CLI, and what a test expects the receiver to have stored for it,
worked out from the CLI's own JSON totals and from the files it left, never from devtel's code."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import ai_contract as ai
from tests.ai_clis import clis, wiretap
from tests.ai_clis import model_mocks as mocks
from tests.support.db import fetch

RUN = {"claude": clis.run_claude, "gemini": clis.run_gemini, "codex": clis.run_codex}
TOOL = {"claude": "claude_code", "gemini": "gemini_cli", "codex": "codex"}


@dataclass(frozen=True)
class Expected:
    tokens: float
    cost_usd: float | None  # None: the CLI reports no cost
    lines_added: int  # lines of the file it wrote, counted in the file
    shown: int  # changes the script proposed
    accepted: int  # of those, the ones whose file changed
    turns: int | None  # turns the CLI said it ran (Codex's turn.completed events); None: not reported
    api_requests: int | None  # Codex: requests the model mock received; Gemini CLI: its own count


def run(cli: str, tmp: Path, export: clis.Export) -> Expected:
    """Run ``cli`` once in a fresh folder and home; what the receiver should store for it."""
    root, home = tmp / f"{cli}-work", tmp / f"{cli}-home"
    root.mkdir()
    home.mkdir()
    mocks.workspace(root)
    mock = mocks.MOCKS[cli](root)
    try:
        totals = RUN[cli](root, home, mock.url, export)
    finally:
        mock.stop()
    # Codex's model requests are counted where they arrive, Gemini CLI's in its own output; Claude
    # Code counts neither.
    model_calls = sum(1 for path, _ in mock.requests if path.startswith(mocks.RESPONSES_PATH))
    api_requests = model_calls if cli == "codex" else totals.api_requests
    created = root / mocks.NEW_FILE
    lines = len(created.read_text().splitlines()) if created.exists() else 0
    edited = (root / mocks.EDITED_FILE).read_text() != f"{mocks.EDIT_OLD}\n"
    return Expected(
        totals.tokens,
        totals.cost_usd,
        lines,
        mocks.proposals(cli, root),
        int(created.exists()) + edited,
        totals.turns,
        api_requests,
    )


def run_tapped(cli: str, tmp: Path, export: clis.Export) -> tuple[Expected, set[str]]:
    """``run`` with a wiretap in front of ``export.endpoint``; also the temporalities the CLI sent on
    the AI metrics devtel takes."""
    with wiretap.wiretap(export.endpoint, export.protocol) as tap:
        want = run(cli, tmp, dataclasses.replace(export, endpoint=tap.url))
        return want, tap.seen.of(ai.METRICS)


def asked(export: clis.Export) -> set[str]:
    """The temporality OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE asks of the CLI."""
    return {"cumulative" if export.cumulative else "delta"}


def stored(db_url: str, connection_id: int, developer: str, cli: str) -> dict[str, Any]:
    """The developer's totals for ``cli`` over all rows, and the languages of its accepted suggestions."""
    rows = fetch(
        db_url,
        "SELECT * FROM _tool_developer_ai_metrics"
        " WHERE connection_id = :c AND developer_id = :d AND tool = :t",
        c=connection_id,
        d=developer,
        t=TOOL[cli],
    )
    names = (
        "tokens",
        "cost_usd",
        "lines_added",
        "suggestions_shown",
        "suggestions_accepted",
        "sessions",
        "active_s",
        "turns",
        "api_requests",
    )
    found: dict[str, Any] = {name: round(sum(float(getattr(r, name)) for r in rows), 6) for name in names}
    found["languages"] = sorted({r.language for r in rows if r.suggestions_accepted})
    return found


def wait_stored(db_url: str, connection_id: int, developer: str, cli: str, want: Expected) -> dict[str, Any]:
    """Poll until the tokens arrived (every CLI exports them last) or 60 s passed."""
    deadline = time.monotonic() + 60
    found = stored(db_url, connection_id, developer, cli)
    while time.monotonic() < deadline and not (
        found["tokens"] >= want.tokens
        and found["suggestions_shown"] >= want.shown
        and found["sessions"] >= 1
        and found["api_requests"] >= (want.api_requests or 0)
    ):
        time.sleep(0.5)
        found = stored(db_url, connection_id, developer, cli)
    return found
