"""Stopping and starting the real MariaDB server, for the outage tests (CI runs them serially)."""

from __future__ import annotations

import shutil
import subprocess
import time

_PING = ["mysqladmin", "--user=root", "--host=127.0.0.1", "ping"]


def is_up() -> bool:
    return subprocess.run(_PING, capture_output=True).returncode == 0


def stop() -> None:
    subprocess.run(
        ["mysqladmin", "--user=root", "--host=127.0.0.1", "shutdown"], check=True, capture_output=True
    )
    deadline = time.monotonic() + 30
    while is_up() and time.monotonic() < deadline:
        time.sleep(0.1)


def start() -> None:
    subprocess.run(
        ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"],
        check=True,
    )
    deadline = time.monotonic() + 60
    while not is_up():
        if time.monotonic() > deadline:
            raise RuntimeError("MariaDB did not come back within 60 s")
        time.sleep(0.1)


def controllable() -> bool:
    """The local server can be stopped and started by this user (root on the CI machine)."""
    return bool(shutil.which("mysqladmin") and shutil.which("start-stop-daemon")) and is_up()
