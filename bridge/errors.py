"""Named errors of the DevLake side; the receiver maps each to its HTTP and gRPC status."""


class BridgeError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidReport(BridgeError):
    """Client data that cannot become a row. ``field`` names the offending JSON path."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class StorageUnavailable(BridgeError):
    """The database cannot be reached or is shedding work; the client should retry later."""


class UnknownConnection(BridgeError):
    """No connection has that id."""


class DuplicateConnectionName(BridgeError):
    """Connection names are unique."""


class ConnectionIdTaken(BridgeError):
    """A connection id that is DevLake's, in use, or issued before and deleted."""
