"""``python -m agent``: the same as ``devtel-agent``."""

import sys

from agent.cli import main

sys.exit(main())
