"""Headless Chromium (Debian's ``chromium``, installed by ``scripts/bootstrap.sh system``) for
tests that open a page from disk: its DOM after rendering, and a screenshot.

Every run gets an empty profile, and every background service that could reach the network
(updates, sync, field trials) is off: the page under test must render from the file alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where screenshots are kept after the run (for a person to look at); .gitignored.
ARTIFACTS = Path(os.environ.get("DEVTEL_TEST_ARTIFACTS", ROOT / ".artifacts"))
_FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
)


def binary() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("chromium is not installed; run scripts/bootstrap.sh system (Debian: chromium)")
    return found


def _run(page: Path, *extra: str) -> str:
    with tempfile.TemporaryDirectory(prefix="devtel-chromium-") as profile:
        result = subprocess.run(
            [binary(), *_FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited {result.returncode}: {result.stderr[-2000:]}")
    return result.stdout


def dump_dom(page: Path) -> str:
    """The document as Chromium parsed and laid it out (not the file's bytes)."""
    return _run(page, "--dump-dom")


def screenshot(page: Path, name: str, width: int = 1100, height: int = 2200) -> Path:
    """A PNG of the page, kept under ARTIFACTS/name."""
    target = ARTIFACTS / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    _run(page, f"--screenshot={target}", f"--window-size={width},{height}")
    if not target.exists():
        raise RuntimeError(f"chromium wrote no screenshot at {target}")
    return target
