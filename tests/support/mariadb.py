"""A private MariaDB server per test, which the test may stop and start at will.

Outage tests used to stop the machine's shared MariaDB, and every other test running against it
at that moment failed with "Lost connection to MySQL server". A private server (its own data
directory, socket and port) is a real MariaDB that only its own test can break.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ci import unavailable
from tests.support.processes import free_port

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = ("mariadb-install-db", "mysql_install_db")
DATABASE = "devtel"


class PrivateMariaDB:
    """One mariadbd on 127.0.0.1:<free port> with a throwaway data directory; root, no password."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.datadir = workdir / "data"
        self.socket = workdir / "mariadb.sock"
        self.error_log = workdir / "mariadb.err"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the test database on this server."""
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{DATABASE}"

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to; as another user it runs as that user.
        return ["--user=root"] if os.geteuid() == 0 else []

    def install(self) -> None:
        """Initialise the data directory (the system tables), then start and create the test database."""
        tool = next((t for t in INSTALL_DB if shutil.which(t)), None)
        if tool is None or not Path(MARIADBD).exists():
            raise RuntimeError(f"MariaDB server not installed (need {MARIADBD} and mariadb-install-db)")
        done = subprocess.run(
            [
                tool,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *self._user_args(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed:\n{done.stdout}\n{done.stderr}")
        self.start()
        self.execute(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4")

    def start(self, timeout: float = 60) -> None:
        """Start mariadbd on the same data directory and port, and wait until it answers."""
        if self.process is not None and self.process.poll() is None:
            return
        with (self.workdir / "mariadbd.out").open("ab") as out:
            self.process = subprocess.Popen(
                [
                    MARIADBD,
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    f"--socket={self.socket}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--pid-file={self.workdir / 'mariadbd.pid'}",
                    f"--log-error={self.error_log}",
                    "--skip-log-bin",
                    "--skip-name-resolve",
                    "--innodb-buffer-pool-size=32M",
                    "--max-connections=500",
                    *self._user_args(),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not answer within {timeout:g}s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM is a clean shutdown; SIGKILL is a crash (InnoDB recovers on the next start)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def is_up(self) -> bool:
        try:
            self.execute("SELECT 1")
        except Exception:
            return False
        return True

    def execute(self, sql: str) -> None:
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=2)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
            conn.commit()
        finally:
            conn.close()

    def log_tail(self, lines: int = 30) -> str:
        if not self.error_log.exists():
            return "(no error log)"
        return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def private_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateMariaDB]:
    """A MariaDB server of this test's own, stopped and deleted afterwards.

    In CI (CI=true) a server that cannot start fails the test; on a laptop without MariaDB it skips.
    """
    workdir = tmp_path_factory.mktemp("mariadb")
    server = PrivateMariaDB(workdir)
    try:
        server.install()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        server.stop(signal.SIGKILL)
        unavailable(f"could not start a private MariaDB: {exc}")
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)
