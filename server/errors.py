"""What clients see of errors: domain errors with their code, everything else masked."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from core.errors import BacklogError
from db.session import DatabaseUnavailableError, StatementTimeoutError

logger = logging.getLogger("backlog.errors")

UNEXPECTED = "Unexpected error."
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
RETRY_AFTER_S = 1
"""What a `SERVICE_UNAVAILABLE` answer's `Retry-After` says: a restarted PostgreSQL is usually
back within a second, and the first request after it succeeds."""


def client_error(error: GraphQLError) -> GraphQLError:
    """The error as the client may see it: no stack trace, SQL or secret ever leaves here."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        code = "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else None
        if error.path is None:
            code = code or "GRAPHQL_VALIDATION_FAILED"
        return _with_extensions(error, error.message, {"code": code or "BAD_REQUEST"})
    if isinstance(original, BacklogError):
        return _with_extensions(error, original.message, original.extensions)
    if isinstance(original, StatementTimeoutError):
        return _with_extensions(error, str(original), {"code": "TIMEOUT"})
    if isinstance(original, DatabaseUnavailableError):
        # Logged once per request, by the view (the handle keeps what failed).
        return _with_extensions(error, str(original), {"code": SERVICE_UNAVAILABLE})
    error_id = uuid.uuid4().hex[:12]
    logger.error("Unexpected error %s at %s", error_id, error.path, exc_info=original)
    return _with_extensions(
        error, UNEXPECTED, {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id}
    )


def _with_extensions(error: GraphQLError, message: str, extensions: dict) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), **extensions},
    )


class ClientErrors(SchemaExtension):
    """Rewrites every error of a result through `client_error`."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [client_error(error) for error in result.errors]
