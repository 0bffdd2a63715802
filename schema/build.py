"""Assembling the executable schema from the types and the guard-rail extensions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema
from strawberry.extensions import SchemaExtension

from execution.engine import LevelExecutionContext
from schema.mutation import Mutation
from schema.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from schema.query import Query
from schema.subscriptions import Subscription

# Arguments that mean the same on every field that takes them: described here once, for every
# field whose code gives no description of its own.
ARGUMENT_DESCRIPTIONS = {
    "first": f"Return at most this many items from the start (at most {MAX_PAGE_SIZE}; "
    f"{DEFAULT_PAGE_SIZE} by default).",
    "after": "Return items after this cursor (an `endCursor` or edge `cursor` of the same list "
    "and ordering).",
    "last": f"Return at most this many items from the end instead (at most {MAX_PAGE_SIZE}; "
    "not together with `first`).",
    "before": "Return items before this cursor (a `startCursor` or edge `cursor` of the same "
    "list and ordering).",
    "input": "The mutation's arguments.",
    # Every issue list's:
    "filter": "Only the issues that match; archived ones are left out unless it has "
    "`includeArchived`.",
    "orderBy": "Keys to order by, the first one first; newest first if null.",
}
# The `errors` field of every mutation payload (a type named `...Payload`).
PAYLOAD_ERRORS_DESCRIPTION = "Why nothing was changed; empty when the mutation succeeded."


def describe_uniform_items(schema: GraphQLSchema) -> None:
    """Fill the descriptions of `ARGUMENT_DESCRIPTIONS`' arguments and of payloads' `errors`
    where the code gave none. Both the SDL printer and introspection read these objects."""
    for type_name, graphql_type in schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for field_name, field in graphql_type.fields.items():
            if type_name.endswith("Payload") and field_name == "errors":
                field.description = field.description or PAYLOAD_ERRORS_DESCRIPTION
            for argument_name, argument in field.args.items():
                if not argument.description:
                    argument.description = ARGUMENT_DESCRIPTIONS.get(argument_name)


class BacklogSchema(strawberry.Schema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        describe_uniform_items(self._schema)

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Logged once, by `server.errors.ClientErrors`: unexpected errors only, with their
        traceback and path. Strawberry's default would log every error with an excerpt of the
        document, and a document may hold a password or a token."""


def build_schema(
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    *,
    level_executor: bool = True,
) -> strawberry.Schema:
    """The schema; `level_executor=False` runs queries with graphql-core's own executor (the
    reference the tests compare with, and a bench baseline)."""
    return BacklogSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=list(extensions),
        execution_context_class=LevelExecutionContext if level_executor else None,
    )


def schema_sdl() -> str:
    """The SDL committed as `schema.graphql`."""
    return build_schema().as_str() + "\n"
