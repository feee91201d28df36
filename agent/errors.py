"""Named errors, each with the exit code the CLI turns it into."""

from __future__ import annotations


class AgentError(Exception):
    """Anything the agent reports to the user as a one-line message instead of a traceback."""

    exit_code = 1


class ConfigError(AgentError):
    """A config, policy or legacy file is malformed; the message names the file, line and key."""

    exit_code = 2


class StateError(AgentError):
    """DEVTEL_HOME cannot be created, read or written (permissions, a file in the way, a full disk)."""

    exit_code = 3


class ConsentError(AgentError):
    """A consent change the managed policy does not allow."""

    exit_code = 4


class ServiceError(AgentError):
    """Installing or removing the service failed."""

    exit_code = 5


class SendError(AgentError):
    """``collect`` or ``flush``: a sink refused everything it was sent (a wrong key, a wrong URL)."""

    exit_code = 6
