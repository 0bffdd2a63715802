"""Subscriptions' two halves: opening one (its document through the schema's extensions and its
root field's subscribe resolver, once), and executing its events, each once for every subscriber
who shares its document, variables and role (`server/live.py` groups them)."""

from __future__ import annotations

from dataclasses import dataclass
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

from graphql import ExecutionResult, create_source_event_stream, execute_subscription_event

from execution.engine import LevelExecutionContext
from execution.graphql_internals import graphql_schema, through_extensions

if TYPE_CHECKING:
    from graphql import DocumentNode, Executor, GraphQLError
    from strawberry import Schema


@dataclass(slots=True)
class Opened:
    """A subscription's source stream (its root field's resolver's), or why there is none."""

    source: Any | None
    document: DocumentNode | None
    errors: list[GraphQLError]


async def open_subscription(
    schema: Schema,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Any,
) -> Opened:
    """Parse, validate, check the limits and charge the caller as for any document, then call
    the root field's subscribe resolver; nothing is executed."""
    source: Any = None

    async def start(document: DocumentNode) -> list[GraphQLError]:
        nonlocal source
        built = event_executor(schema, document, context, variables, operation_name)
        if isinstance(built, list):
            return built
        stream = create_source_event_stream(built)
        if isawaitable(stream):
            stream = await stream
        if isinstance(stream, ExecutionResult):
            return list(stream.errors or [])
        source = stream
        return []

    document, errors = await through_extensions(
        schema, query, variables, operation_name, context, start
    )
    return Opened(source if not errors else None, document, errors)


def event_executor(
    schema: Schema,
    document: DocumentNode,
    context: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> Executor[Any] | list[GraphQLError]:
    """An executor of a subscription document (variables coerced once), or the errors of its
    variables."""
    return LevelExecutionContext.build(
        graphql_schema(schema), document, None, context, variables, operation_name
    )


async def execute_event(executor: Executor[Any], event: Any) -> ExecutionResult:
    """The document of `executor` executed once for `event`, its root field's value."""
    result = execute_subscription_event(executor.build_per_event_executor(event))
    if isawaitable(result):
        result = await result
    return result
