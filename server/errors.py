"""What clients see of errors: domain errors with their code, everything else masked."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

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


LOGGED_IDS = 10
"""How many unexpected errors of one request its log record names beyond the first."""


def client_error(error: GraphQLError) -> GraphQLError:
    """The error as the client may see it: no stack trace, SQL or secret ever leaves here."""
    [masked] = client_errors([error])
    return masked


def client_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    """Each error as the client may see it, and at most one log record for all of them.

    Errors a client caused (a code of the API, a request error) are not logged. Each
    unexpected one gets its own `errorId`; the record has the first one's traceback and names
    up to `LOGGED_IDS` more, so a request whose every field fails writes one record, not one
    per field.
    """
    masked: list[GraphQLError] = []
    unexpected: list[tuple[str, GraphQLError]] = []
    for error in errors:
        exposed = _exposed(error)
        if exposed is None:
            error_id = uuid.uuid4().hex[:12]
            unexpected.append((error_id, error))
            exposed = _with_extensions(
                error, UNEXPECTED, {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id}
            )
        masked.append(exposed)
    if unexpected:
        _log_unexpected(unexpected)
    return masked


def _exposed(error: GraphQLError) -> GraphQLError | None:
    """The error with its code, if its message may reach the client (None: it is masked)."""
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
    return None


def _log_unexpected(unexpected: list[tuple[str, GraphQLError]]) -> None:
    (error_id, first), more = unexpected[0], unexpected[1:]
    named = "; ".join(f"{other_id} at {other.path}" for other_id, other in more[:LOGGED_IDS])
    unnamed = len(more) - LOGGED_IDS
    others = (
        ""
        if not more
        else f" (and {len(more)} more in this request: {named}"
        + (f"; {unnamed} not named" if unnamed > 0 else "")
        + ")"
    )
    logger.error(
        "Unexpected error %s at %s%s", error_id, first.path, others, exc_info=first.original_error
    )


def _with_extensions(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return rewritten(
        error, message, original_error=None, extensions={**(error.extensions or {}), **extensions}
    )


def rewritten(
    error: GraphQLError,
    message: str,
    *,
    original_error: Exception | None,
    extensions: dict[str, Any] | None,
) -> GraphQLError:
    """A copy of `error`, at the same place in the document and the result, with another
    message, cause and extensions: the original may be cached (validation errors are), so it is
    never changed."""
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original_error,
        extensions=extensions,
    )


class ClientErrors(SchemaExtension):
    """Rewrites every error of a result through `client_errors`."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = client_errors(list(result.errors))
