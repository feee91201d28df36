"""The receiver: OTLP over HTTP and gRPC, the legacy DevLake report route, auth and limits."""
