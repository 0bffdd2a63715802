"""A per-process cache of parsed documents that leaves syntax errors to the normal path.

Strawberry's own `ParserCache` raises parse errors from inside its hook, where they skip the
error formatting every other request error gets; this one caches successes only and lets
Strawberry parse (and report) a broken document itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

CACHED_DOCUMENTS = 256


@lru_cache(maxsize=CACHED_DOCUMENTS)
def parsed(query: str, max_tokens: int | None) -> DocumentNode:
    """The document of `query`, parsed once per process (raises GraphQLError on bad syntax)."""
    return parse(query, max_tokens=max_tokens)


class ParsedDocumentCache(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            # On a syntax error Strawberry parses it again and reports it like any other.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = parsed(
                    context.query, context.parse_options.get("max_tokens")
                )
        yield
