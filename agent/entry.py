"""The ``devtel-agent`` console script. ``devtel-agent hook SHELL`` runs in every new terminal
(``eval "$(devtel-agent hook bash)"``), so it is answered here with nothing heavy imported: the
hook text and, at most, a few stat calls. Everything else, and a hook whose spool is still to be
made (the first one, where consent must be worked out), goes to ``agent.cli``.
"""

from __future__ import annotations

import os
import sys


def _fast_hook(argv: list[str]) -> bool:
    """Prints the hook if nothing needs the full agent; False to hand over to ``agent.cli``."""
    from agent.shell import files
    from agent.shell.hooks import SHELLS, hook_script

    if len(argv) != 2 or argv[0] != "hook" or argv[1] not in SHELLS:
        return False
    home = files.home_from(os.environ)
    # The opt-out variables need no look here: the hooks check them at every prompt.
    if not files.marked_off(home):
        if not os.path.exists(os.path.join(home, files.SPOOL_FILE)):
            return False  # a first install, or a spool deleted by hand: consent decides
        try:  # noqa: SIM105 (contextlib is an import this path avoids)
            files.trim_spool(home)  # no agent may be draining it
        except OSError:
            pass  # a hook must never break a shell; the next collection trims it (or logs why not)
    text = hook_script(argv[1])
    sys.stdout.write(text)
    try:  # noqa: SIM105
        files.keep_hook_copy(home, argv[1], text)
    except OSError:
        pass  # a missing or read-only DEVTEL_HOME: the hook stays quiet, and so does this
    return True


def main() -> int:
    if _fast_hook(sys.argv[1:]):
        return 0
    from agent.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
