"""Consent in the shell's data path: whether the hooks may record at all, decided by the
same consent the sends obey (``agent.consent``), and applied to the spool (``files``).

Consent ``off`` from any source (the user, an opt-out variable, the managed policy) stops the
hooks at their next prompt and deletes what they recorded, so no later pass ingests it; any
other level lets them record again. Every collection, every consent change and a first
``devtel-agent hook`` apply it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from agent.consent import OFF, Consent, effective
from agent.shell import files
from agent.shell.hooks import hook_script


def apply(home: Path, consent: Consent) -> bool:
    """Start or stop the hooks' recording to match ``consent``; True if recording is on. The
    hook copies shells source are brought up to date on the way."""
    files.refresh_hook_copies(home, hook_script)
    if consent.level == OFF:
        files.stop_recording(home)
        return False
    files.resume_recording(home)
    return True


def print_hook(shell: str, env: Mapping[str, str]) -> int:
    """``devtel-agent hook SHELL`` when the spool is to be made: consent first. Prints the hook
    whatever happens (a broken config must not break a shell's start-up, and the hook waits
    quietly for a spool), and says nothing: ``devtel-agent status`` reports a bad config or an
    unusable DEVTEL_HOME."""
    from agent.config import load_settings
    from agent.errors import AgentError
    from agent.state import State

    text = hook_script(shell)
    try:
        settings = load_settings(env)
        if apply(settings.home, effective(settings, State(settings.home).read())):
            files.make_spool(settings.home)  # the hooks start recording
        files.keep_hook_copy(settings.home, shell, text)
    except (AgentError, OSError):
        pass
    sys.stdout.write(text)
    return 0
