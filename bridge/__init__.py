"""The DevLake side: the tables, the OTLP-to-daily-row mapping, legacy JSON parsing, upserts."""
