"""End to end through HTTP, per domain: what each query and mutation answers and writes."""
