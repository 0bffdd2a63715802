"""Who may explore the schema: introspection, and the "Did you mean …?" of error messages.

`BACKLOG_INTROSPECTION` (`Settings.introspection`) chooses off, members (signed-in callers) or
everyone. For a caller who may not, `__schema` and `__type` fail validation, and no error
message suggests a field, argument, type or enum value: whatever produced it (validation, the
coercion of variables, either executor).

The introspection rule joins the operation's validation rules, which are part of the validation
cache's key, so a document validated for a member is never served from the cache to an anonymous
caller. The suggestions are cut from copies of the errors: the cached ones stay as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphql import GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from auth import policies
from server.errors import rewritten
from server.settings import Introspection

if TYPE_CHECKING:
    from collections.abc import Iterator

    from auth.viewer import Viewer

SUGGESTION = " Did you mean "
"""How graphql-core's `did_you_mean` starts what it appends to the end of a message."""


class SchemaExploration(SchemaExtension):
    def __init__(self, allowed: Introspection) -> None:
        self.allowed = allowed

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        viewer: Viewer | None = getattr(context.context, "viewer", None)
        explores = viewer is not None and policies.can_explore_schema(viewer, self.allowed.value)
        if not explores:
            context.validation_rules = (
                *context.validation_rules,
                NoSchemaIntrospectionCustomRule,
            )
        yield
        result = context.result
        if not explores and result is not None and result.errors:
            result.errors = [without_suggestion(error) for error in result.errors]


def without_suggestion(error: GraphQLError) -> GraphQLError:
    """The error with no suggestion in its message (a copy if there was one)."""
    message, found, _ = error.message.partition(SUGGESTION)
    if not found:
        return error
    return rewritten(
        error, message, original_error=error.original_error, extensions=error.extensions
    )
