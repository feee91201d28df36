#!/usr/bin/env python3
"""Run the reliability suite and print its fault and load figures as a Markdown table.

The suite records, per case, how many agent days were checked, how many were lost or doubled,
and how long recovery took (tests/reliability/conftest.py); this prints them in the form
docs/operations.md quotes. Extra arguments go to pytest (e.g. ``-k load``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(pytest_args: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "figures.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "tests/reliability",
                "-q",
                "-p",
                "no:cacheprovider",
                *pytest_args,
            ],
            cwd=ROOT,
            env={**os.environ, "DEVTEL_FAULT_TABLE": str(target)},
        )
        figures = json.loads(target.read_text()) if target.exists() else []
    if not figures:
        print("no figures recorded", file=sys.stderr)
        return done.returncode or 1
    print("\n| case | days checked | lost | doubled | recovery | notes |")
    print("|---|---:|---:|---:|---:|---|")
    for f in figures:
        cells = (f["case"], f["days"], f["lost"], f["doubled"], f"{f['recovery_s']:.1f} s", f["note"])
        print("| " + " | ".join(map(str, cells)) + " |")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
