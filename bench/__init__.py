"""Backlog's benchmark suite: `python -m bench --help` (or `python3 dev.py bench --help`).

Backlog is loaded with wrk next to PostGraphile, an N+1 variant of itself, a variant on
graphql-core's executor and a raw-SQL floor, on the same seeded PostgreSQL; see bench/__main__.py.
"""
