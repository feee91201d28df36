"""Generated teams for the demo, the dashboards' tests and the benchmarks."""
