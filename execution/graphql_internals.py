"""The private graphql-core and Strawberry internals the level executor uses, each behind one name.

`execution.engine` reuses graphql-core's executor (field collection, resolve info, runtime type
checks, the error collector) and reads how Strawberry converted each type and field. None of that
is public API, and it changed between graphql-core 3.3 pre-releases and Strawberry minor
versions. Everything of it that the engine touches is named here, so an upgrade means re-reading
this module only. Each docstring says which versions it was written against; the supported ranges
are in `pyproject.toml`, and `tests/test_library_versions.py` fails on a version not yet tested.

Internal to `execution`: the rest of Backlog uses the libraries' public APIs.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from graphql import GraphQLError, GraphQLResolveInfoHelpers
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.collect_fields import collect_fields as _collect_fields
from graphql.execution.values import get_argument_values
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import (
    StrawberryGraphQLCoreExecutionContext,
    _coerce_pre_execution_error,
    validate_document,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.execution import ExecutionResult as StrawberryResult
from strawberry.types.graphql import OperationType

from core.errors import BacklogError

if TYPE_CHECKING:
    from graphql import (
        DocumentNode,
        ExecutionResult,
        Executor,
        ExperimentalIncrementalExecutionResults,
        FieldNode,
        FragmentDefinitionNode,
        GraphQLAbstractType,
        GraphQLField,
        GraphQLObjectType,
        GraphQLResolveInfo,
        GraphQLSchema,
    )
    from graphql.pyutils import Path
    from strawberry.schema import Schema as StrawberrySchema
    from strawberry.types.field import StrawberryField

__all__ = [
    "FieldDetailsList",
    "GroupedFieldSet",
    "StrawberryExecutionContext",
    "argument_converter",
    "argument_values",
    "attribute_name",
    "build_resolve_info",
    "collect_root_fields",
    "collect_subfields",
    "detach_async_helpers",
    "ensure_valid_runtime_type",
    "error_collector",
    "exact_python_class",
    "field_nodes",
    "finished_response",
    "has_resolver",
    "plain_method",
    "strawberry_field",
    "through_extensions",
    "uses_middleware_or_abort_signal",
    "validation_errors",
    "wraps_resolver",
]

# -- graphql-core ----------------------------------------------------------------------------
# `FieldDetailsList` (the field nodes of one response key, with their `@defer` usage and fragment
# variables) and `GroupedFieldSet` (response key -> FieldDetailsList) are the types of
# graphql-core 3.3's internal `collect_fields` module (3.2 had dicts of plain `FieldNode` lists).


def collect_root_fields(executor: Executor[Any], root_type: GraphQLObjectType) -> GroupedFieldSet:
    """The operation's root fields by response key: graphql-core 3.3's internal `collect_fields`.

    Its `@defer` usages and forbidden-directive instances are dropped: the engine runs only
    operations without incremental delivery.
    """
    collected = _collect_fields(
        executor.schema,
        executor.fragments,
        executor.variable_values,
        root_type,
        executor.operation,
        executor.hide_suggestions,
    )
    return collected.grouped_field_set


def collect_subfields(
    executor: Executor[Any], object_type: GraphQLObjectType, details: FieldDetailsList
) -> GroupedFieldSet:
    """The sub-selection of `details` on `object_type`: graphql-core 3.3's private, memoized
    `Executor.collect_subfields` (the same object for the same `details` within one execution)."""
    return executor.collect_subfields(object_type, details).grouped_field_set


def field_nodes(details: FieldDetailsList) -> list[FieldNode]:
    """The AST nodes of one response key, from graphql-core 3.3's internal `FieldDetails`."""
    return [detail.node for detail in details]


def argument_values(
    executor: Executor[Any], field_def: GraphQLField, details: FieldDetailsList
) -> dict[str, Any]:
    """The field's coerced arguments, as graphql-core 3.3's executor computes them (its
    `get_argument_values` takes fragment variables and `hide_suggestions` only since 3.3)."""
    first = details[0]
    return get_argument_values(
        field_def,
        first.node,
        executor.variable_values,
        first.fragment_variable_values,
        executor.hide_suggestions,
    )


def error_collector(executor: Executor[Any]) -> Callable[[GraphQLError, Path | None], None]:
    """`add(error, path)` of graphql-core 3.3's internal `CollectedErrors`, which drops an error
    under a position already nulled and is what `finished_response` reports."""
    return executor.collected_errors.add


def build_resolve_info(
    executor: Executor[Any],
    field_def: GraphQLField,
    nodes: list[FieldNode],
    parent_type: GraphQLObjectType,
    path: Path,
) -> GraphQLResolveInfo[Any]:
    """The `info` of a resolver call: graphql-core 3.3's private `Executor.build_resolve_info`,
    which Strawberry 0.341 overrides (its `info` carries the operation context)."""
    return executor.build_resolve_info(field_def, nodes, parent_type, path)


def ensure_valid_runtime_type(
    executor: Executor[Any],
    runtime_type_name: Any,
    abstract_type: GraphQLAbstractType,
    details: FieldDetailsList,
    info: GraphQLResolveInfo[Any],
    value: Any,
) -> GraphQLObjectType:
    """The object type `resolve_type` named, checked as graphql-core 3.3's private
    `Executor.ensure_valid_runtime_type` checks it (same errors, same messages)."""
    return executor.ensure_valid_runtime_type(
        runtime_type_name, abstract_type, details, info, value
    )


def finished_response(
    executor: Executor[Any], data: dict[str, Any] | None
) -> ExecutionResult | ExperimentalIncrementalExecutionResults:
    """The response with the collected errors: graphql-core 3.3's private `build_response` then
    `finish` (which runs the async-work-finished hook and honours an abort signal)."""
    return executor.finish(executor.build_response(data))


def detach_async_helpers(executor: Executor[Any]) -> None:
    """Make the executor's `async_helpers` reach it through a weak reference.

    graphql-core 3.3's `Executor.__init__` keeps `GraphQLResolveInfoHelpers` of its own bound
    methods (`gather_async_work`, `track_async_work`), which every `info` carries: each executor
    is then a reference cycle, and with it the request's context, loaders and rows wait for the
    cycle collector. These helpers call the same methods while the execution lives (a resolver
    runs inside it); once it is over, there is nothing to track or gather for it.
    """
    gather = weakref.WeakMethod(executor.gather_async_work)
    track = weakref.WeakMethod(executor.track_async_work)

    def gather_async_work(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        method = gather()
        if method is None:
            raise RuntimeError("The execution these helpers belong to is over.")
        return method(values)

    def track_async_work(values: Sequence[Any]) -> None:
        method = track()
        if method is not None:
            method(values)

    executor.async_helpers = GraphQLResolveInfoHelpers(
        gather=gather_async_work, track=track_async_work
    )


def uses_middleware_or_abort_signal(executor: Executor[Any]) -> bool:
    """Whether middleware wraps the resolvers or an abort signal may stop the execution
    (graphql-core 3.3's `middleware_manager` and `abort_signal`): the level executor implements
    neither."""
    middleware = executor.middleware_manager
    return (middleware is not None and bool(middleware.middlewares)) or (
        executor.abort_signal is not None
    )


# -- Strawberry ------------------------------------------------------------------------------

StrawberryExecutionContext = StrawberryGraphQLCoreExecutionContext
"""Strawberry 0.341's graphql-core executor subclass (not exported by Strawberry); subclassing it
keeps Strawberry's own `build_resolve_info` and operation extensions."""

_DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF
# "strawberry-definition": the key under which Strawberry (0.341) leaves, in a converted GraphQL
# type's or field's `extensions`, the Strawberry definition it was converted from.


class _ConvertedSchema(Protocol):
    """A graphql-core schema built by Strawberry, which keeps a back-reference to its builder."""

    _strawberry_schema: StrawberrySchema


def enum_names_of(enum_type: Any) -> dict[Any, str] | None:
    """Each member of the Python enum a Strawberry enum type wraps, with the name Strawberry
    0.341's `CustomGraphQLEnumType.coerce_output_value` gives it (the first value equal to the
    member's); None for an enum type Strawberry did not make."""
    wrapped = getattr(enum_type, "wrapped_cls", None)
    if wrapped is None:
        return None
    names: dict[Any, str] = {}
    for member in wrapped:
        for name, value in enum_type.values.items():
            if member.value == value.value:
                names[member] = name
                break
    return names


def coerced_variables(executor: Executor[Any]) -> dict[str, Any]:
    """The request's coerced variable values (graphql-core 3.3 keeps them in `VariableValues`)."""
    coerced: dict[str, Any] = executor.variable_values.coerced
    return coerced


def fragment_definitions(executor: Executor[Any]) -> dict[str, FragmentDefinitionNode]:
    """The document's fragments by name (graphql-core 3.3 keeps `FragmentDetails` of each)."""
    return {name: details.definition for name, details in executor.fragments.items()}


def raw_resolve_info(info: Any) -> GraphQLResolveInfo[Any]:
    """graphql-core's resolve info under a Strawberry `Info` (its `_raw_info`, Strawberry 0.341)."""
    raw: GraphQLResolveInfo[Any] = info._raw_info
    return raw


def strawberry_field(field_def: GraphQLField) -> StrawberryField | None:
    """The Strawberry field a GraphQL field was converted from (Strawberry 0.341's back-reference
    in `extensions`), or None for a field Strawberry did not convert (introspection)."""
    field: StrawberryField | None = (field_def.extensions or {}).get(_DEFINITION)
    return field


def exact_python_class(object_type: GraphQLObjectType) -> type | None:
    """The Python class whose instances are certainly of `object_type`, so they need no
    `is_type_of` check; None for a generic's specialization (`Connection[Issue]`), whose origin
    class is shared by all of them. Reads Strawberry 0.341's `StrawberryObjectDefinition`."""
    definition: Any = (object_type.extensions or {}).get(_DEFINITION)
    origin: type | None = getattr(definition, "origin", None)
    if origin is None or definition.concrete_of is not None or definition.is_graphql_generic:
        return None
    return origin


def wraps_resolver(field: StrawberryField) -> bool:
    """Whether field extensions or permission classes run around the field's resolver (Strawberry
    0.341's `StrawberryField.extensions` and `permission_classes`)."""
    return bool(field.extensions or field.permission_classes)


def has_resolver(field: StrawberryField) -> bool:
    """Whether the field has a resolver function of its own (Strawberry 0.341's `base_resolver`)."""
    return field.base_resolver is not None


def attribute_name(field: StrawberryField) -> str | None:
    """The Python attribute a field without a resolver of its own reads with `getattr`; None when
    it has a resolver or the type sets another default resolver (Strawberry 0.341)."""
    if field.base_resolver is not None or field.default_resolver is not getattr:
        return None
    return field.python_name


def plain_method(field: StrawberryField) -> Callable[[Any], Any] | None:
    """The resolver as a plain function of the object, when it is a synchronous method taking only
    `self` (no arguments, `info` or root); None otherwise. Reads Strawberry 0.341's
    `StrawberryResolver` (`self_parameter`, `info_parameter`, `root_parameter`, `wrapped_func`)."""
    resolver = field.base_resolver
    if (
        resolver is None
        or field.is_async
        or field.arguments
        or resolver.self_parameter is None
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or len(resolver.signature.parameters) != 1
    ):
        return None
    # A function, not a staticmethod or classmethod: it takes `self`.
    return cast("Callable[[Any], Any]", resolver.wrapped_func)


def argument_converter(
    schema: GraphQLSchema,
) -> Callable[[dict[str, Any], StrawberryField], dict[str, Any]]:
    """`convert(raw_arguments, field)`: a field's coerced GraphQL arguments as the Python values its
    resolver takes (input objects as their classes, `UNSET` for absent ones), by Strawberry 0.341's
    internal `convert_arguments` with the schema's scalar registry and config."""
    strawberry_schema = cast("_ConvertedSchema", schema)._strawberry_schema
    scalar_registry = strawberry_schema.schema_converter.scalar_registry
    config = strawberry_schema.config

    def convert(raw_arguments: dict[str, Any], field: StrawberryField) -> dict[str, Any]:
        return convert_arguments(raw_arguments, field.arguments, scalar_registry, config)

    return convert


def validation_errors(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[Any], ...]
) -> list[GraphQLError]:
    """What Strawberry's validation step finds in `document`: graphql-core's `validate` with
    `rules` and Strawberry's own two rules (Strawberry 0.341: `validate_document`)."""
    return validate_document(schema, document, rules)


def graphql_schema(schema: StrawberrySchema) -> GraphQLSchema:
    """The graphql-core schema a Strawberry schema wraps (Strawberry 0.341: `_schema`), for
    what reads the schema's types outside execution (the cost of a document)."""
    return schema._schema


async def through_extensions(
    schema: StrawberrySchema,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Any,
    start: Callable[[DocumentNode], Awaitable[list[GraphQLError]]],
) -> tuple[DocumentNode | None, list[GraphQLError]]:
    """A subscription's document through the schema's extensions as Strawberry 0.341's private
    `Schema._stream` takes one, up to where it would subscribe: parsing, validation and the
    `on_execute` hooks run (so every limit and charge applies), and `start(document)` is called
    in their place. Returns the document and the errors, rewritten by the extensions, of
    whichever step failed (none: `start` succeeded)."""
    execution_context = schema._create_execution_context(
        query=query,
        allowed_operation_types=(OperationType.SUBSCRIPTION,),
        variable_values=variables,
        context_value=context,
        operation_name=operation_name,
    )
    extensions = schema.get_extensions()
    for extension in extensions:
        extension.execution_context = execution_context
    runner = schema.create_extensions_runner(execution_context, extensions)
    async with runner.operation():
        try:
            failed: Any = await schema._prepare_operation_async(execution_context, runner)
        except InvalidOperationTypeError:
            refusal = BacklogError(
                "Only subscriptions run over a WebSocket: send queries and mutations over HTTP."
            )
            failed = StrawberryResult(data=None, errors=[_request_error(refusal)])
        except (MissingQueryError, CannotGetOperationTypeError) as error:
            reason = _coerce_pre_execution_error(error).message
            failed = StrawberryResult(data=None, errors=[_request_error(BacklogError(reason))])
        if failed:
            execution_context.result = StrawberryResult(data=None, errors=failed.errors)
        else:
            async with runner.executing():
                document = execution_context.graphql_document
                assert document is not None
                if execution_context.result is None:  # an `on_execute` hook may answer first
                    errors = await start(document)
                    if errors:
                        execution_context.result = StrawberryResult(data=None, errors=errors)
    result = execution_context.result
    errors = list(result.errors or []) if result is not None else []
    return execution_context.graphql_document, errors


def _request_error(error: BacklogError) -> GraphQLError:
    return GraphQLError(error.message, original_error=error)
