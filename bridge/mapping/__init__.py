"""The pure part: a developer's day, and mapping OTLP and DevLake's JSON reports onto it; no I/O."""
