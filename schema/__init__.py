"""Backlog's GraphQL schema: types in one module per domain, assembled in `schema.build`."""
