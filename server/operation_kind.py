"""Whether a GraphQL request can only read, known before its transaction opens.

A request that only reads runs in a REPEATABLE READ READ ONLY transaction, so every statement of
it (a page and its `totalCount`, a list and the objects it points at) sees one snapshot. The
document is parsed through the same per-process cache Strawberry's parse step then hits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError, OperationType
from graphql.utilities import get_operation_ast

from server.document_cache import parsed

if TYPE_CHECKING:
    from starlette.requests import Request


def reads_only(request: Request, body: bytes, *, max_tokens: int) -> bool:
    """True for a `query` operation; anything else, or anything unreadable, is not."""
    payload: Any
    if request.method == "GET":
        payload = request.query_params
    else:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
    if not hasattr(payload, "get"):
        return False
    query, name = payload.get("query"), payload.get("operationName")
    if not isinstance(query, str) or not (name is None or isinstance(name, str)):
        return False
    try:
        operation = get_operation_ast(parsed(query, max_tokens), name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is OperationType.QUERY
