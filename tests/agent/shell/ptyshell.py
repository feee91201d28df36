"""Real interactive bash, zsh and fish sessions on a pseudo-terminal, driven like a person would:
type a line, wait for the next prompt. The hook is installed the way the docs say."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

PROMPT = "DEVTEL-TEST-PROMPT>"
ROOT = Path(__file__).resolve().parents[3]


def hook_text(shell: str, scratch: Path) -> str:
    """The hook exactly as ``devtel-agent hook SHELL`` prints it (its spool made in ``scratch``)."""
    return subprocess.run(
        [sys.executable, "-m", "agent", "hook", shell],
        cwd=ROOT,
        env={**os.environ, "DEVTEL_HOME": str(scratch)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def write_rc(shell: str, home: Path, before: str = "", installs: int = 1, after: str = "") -> list[str]:
    """The shell's start-up file: ``before``, the hook ``installs`` times, the prompt, ``after``.
    Returns the argv that starts the shell on it."""
    hook = home / f"hook.{shell}"
    hook.write_text(hook_text(shell, home / "hook-scratch"))
    load = {"bash": f'eval "$(cat {hook})"', "zsh": f'eval "$(<{hook})"', "fish": f"source {hook}"}[shell]
    prompt = {
        "bash": f"PS1='{PROMPT} '",
        "zsh": f"PS1='{PROMPT} '; unsetopt PROMPT_SP",
        # fish repaints its prompt on every keystroke; this event fires once per prompt.
        "fish": f"function fish_prompt; echo -n '$ '; end\n"
        f"function __test_prompt --on-event fish_prompt; echo -n '{PROMPT} '; end",
    }[shell]
    text = "\n".join([before, *[load] * installs, prompt, after, ""])
    if shell == "bash":
        (home / ".bashrc").write_text(text)
        return ["bash", "--noprofile", "--rcfile", str(home / ".bashrc"), "-i"]
    if shell == "zsh":
        (home / ".zshrc").write_text(text)
        return ["zsh", "-i"]
    config = home / ".config" / "fish"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.fish").write_text(text)
    return ["fish", "-i"]


class PtyShell:
    """One interactive shell on a pty. ``run`` types a line and returns what it printed."""

    def __init__(
        self, argv: Sequence[str], env: dict[str, str], cwd: Path, *, wrap: Sequence[str] = ()
    ) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a session leader with the pty as its controlling terminal
            try:
                os.chdir(cwd)
                os.execvpe(argv[0] if not wrap else wrap[0], [*wrap, *argv], env)
            finally:
                os._exit(127)
        self.output = ""
        self._seen = 0
        self.wait_prompt()

    def _read(self, timeout: float) -> str:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return ""
        try:
            return os.read(self.fd, 65536).decode("utf-8", errors="replace")
        except OSError:  # the shell exited
            return ""

    def wait_prompt(self, timeout: float = 20.0) -> str:
        """Everything printed until the next prompt."""
        start, deadline = len(self.output), time.monotonic() + timeout
        while self.output.count(PROMPT) <= self._seen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no prompt after {timeout}s; output so far:\n{self.output[-3000:]}")
            self.output += self._read(0.2)
        self._seen = self.output.count(PROMPT)
        return self.output[start:]

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def run(self, line: str, timeout: float = 20.0) -> str:
        self.send(line + "\r")
        return self.wait_prompt(timeout)

    def interrupt_after(self, line: str, seconds: float) -> str:
        """Start ``line``, then press Ctrl-C after ``seconds``."""
        self.send(line + "\r")
        time.sleep(seconds)
        self.send("\x03")
        return self.wait_prompt()

    def close(self) -> int:
        if self.fd < 0:
            return 0
        self.send("exit\r")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self._read(0.1)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                os.close(self.fd)
                self.fd = -1
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.fd = -1
        return -9


def shell_env(home: Path, devtel_home: Path) -> dict[str, str]:
    """A clean environment: the shells read only the test's start-up files."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "ZDOTDIR": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "DEVTEL_HOME": str(devtel_home),
        "HISTFILE": str(home / ".history"),
    }
