"""Backlog's query executor: graphql-core's semantics, resolved one query level at a time.

graphql-core completes a query object by object: every field of every issue is a resolver call
with its own `ResolveInfo`, and every relation is a coroutine and a task of its own. A 50-issue
list view made some 1,400 resolver calls and 550 tasks, and that, not SQL, bounded throughput.

This executor keeps graphql-core's parsing, validation, field collection (fragments, `@skip`,
`@include`, aliases), argument coercion, leaf serialization and error objects, and changes how
the tree is walked:

- A field without a resolver is read as an attribute and serialized in place; no `ResolveInfo`.
- A field with a batch resolver (`execution.batching`) is resolved for every parent at the same
  level in ONE call, so a list of 50 issues costs one call per relation, not 50 coroutines.
- Anything else (root fields, introspection, resolvers with side effects) goes through the
  field's own Strawberry resolver with a real `ResolveInfo`, as in plain execution.
- Asynchronous work of one level is awaited together, so DataLoaders still batch across it.
- What does not vary per request is planned once per operation of a parsed document and the
  values of the variables its `@skip`/`@include` read (`_OperationPlans`): which fields, how
  each is obtained, arguments written in the document, the to-one links a list reads with its
  page (`execution.links`). Arguments read from variables are coerced per request.
- A kept selection that completes objects often is compiled into one function for its fields
  (`_compile`); the items of a list of one object type are completed in one loop; a response
  path is made only for an error or a `ResolveInfo`.

Errors and nulls follow the spec's "Handling Field Errors": a field error nulls the nearest
nullable position at or above the field, and errors under an already nulled position are dropped
exactly as graphql-core's `CollectedErrors` drops them. `tests/platform/test_execution_engine.py`
runs a corpus of documents through both executors and compares the responses.
Mutations (serial semantics) use graphql-core's executor.

What this reuses of graphql-core's and Strawberry's internals is reached only through
`execution.graphql_internals`, which names the versions it was written for.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from enum import IntEnum
from functools import partial
from keyword import iskeyword
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from graphql import GraphQLError, OperationType, located_error
from graphql.language import ListValueNode, ObjectValueNode, VariableNode
from graphql.pyutils import Path, Undefined
from graphql.pyutils import inspect as inspect_value
from graphql.type import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    is_abstract_type,
)

from core.kept import KEPT_DOCUMENTS
from execution.batching import JOINS, batch_resolver_of, takes_joins
from execution.graphql_internals import (
    StrawberryExecutionContext,
    argument_converter,
    argument_values,
    attribute_name,
    build_resolve_info,
    coerced_variables,
    collect_root_fields,
    collect_subfields,
    detach_async_helpers,
    ensure_valid_runtime_type,
    enum_names_of,
    error_collector,
    exact_python_class,
    field_nodes,
    finished_response,
    fragment_definitions,
    has_resolver,
    plain_method,
    strawberry_field,
    uses_middleware_or_abort_signal,
    wraps_resolver,
)
from execution.links import links_selected

if TYPE_CHECKING:
    from graphql import GraphQLField, GraphQLOutputType, GraphQLSchema
    from graphql.language import FieldNode, OperationDefinitionNode

    from execution.graphql_internals import FieldDetailsList, GroupedFieldSet


logger = logging.getLogger("backlog.execution")


class FieldKind(IntEnum):
    """How a field's value is obtained."""

    TYPENAME = 0
    """`__typename`: the parent type's name."""
    ATTRIBUTE = 1
    """No resolver: an attribute of the object, read with `getattr`."""
    METHOD = 2
    """A synchronous method taking only `self`, called directly without `info`."""
    BATCH = 3
    """A batch resolver (`execution.batching`): one call for every parent at the level."""
    RESOLVER = 4
    """Anything else: the field's own resolver, with a real `ResolveInfo`."""


# `execute_fields` runs once per field of every object, so it compares with these module-level
# names: reading a member off the enum class costs some 75 ns on CPython 3.11, which made a query
# of 200 objects of 17 fields 10% slower.
_ATTRIBUTE, _TYPENAME, _BATCH = FieldKind.ATTRIBUTE, FieldKind.TYPENAME, FieldKind.BATCH


class _Position:
    """A place in the response that may be nulled when a field below it fails.

    Its path is made only when asked for (an error, a `ResolveInfo`): a list view completes
    thousands of places and asks for a handful of paths.
    """

    __slots__ = ("_path", "container", "key", "nullable", "parent", "typename")

    def __init__(
        self,
        container: Any,
        key: str | int,
        nullable: bool,
        parent: _Position | None,
        typename: str | None,
    ) -> None:
        self.container = container
        self.key = key
        self.nullable = nullable
        self.parent = parent
        self.typename = typename  # the parent type's name at a field, None at a list's item
        self._path: Path | _Unset | None = _UNSET

    @property
    def path(self) -> Path | None:
        path = self._path
        if isinstance(path, _Unset):
            parent = self.parent
            path = self._path = (
                None if parent is None else Path(parent.path, self.key, self.typename)
            )
        return path


class _Unset:
    """No path made yet (None is the root's path)."""


_UNSET = _Unset()


class _FieldPlan:
    """Everything about one response key of one selection set that does not vary per object."""

    __slots__ = (
        "args_error",
        "args_vary",
        "batch",
        "details",
        "enum_names",
        "field_def",
        "joins",
        "kind",
        "leaf",
        "method",
        "name",
        "nodes",
        "non_null",
        "parent_type",
        "python_kwargs",
        "python_name",
        "raw_args",
        "response_key",
        "return_type",
        "string_leaf",
        "subplans",
    )

    def __init__(self, response_key: str, parent_type: GraphQLObjectType) -> None:
        self.response_key = response_key
        self.parent_type = parent_type
        # Per runtime object type: the plans of the sub-selection.
        self.subplans: dict[GraphQLObjectType, _Selection] = {}


class _Selection:
    """The plans of one selection set on one object type, and the function compiled from them
    once they are used often enough (`_compile`)."""

    __slots__ = ("compilable", "fill", "object_type", "own_class", "plans", "uses")

    def __init__(
        self, object_type: GraphQLObjectType, plans: list[_FieldPlan], own_class: type | None
    ) -> None:
        self.object_type = object_type
        self.plans = plans
        self.own_class = own_class  # whose instances need no `is_type_of` check
        self.fill: _Fill | None = None
        self.uses = 0
        self.compilable = len(plans) <= MAX_COMPILED_FIELDS


_Fill = Callable[["_LevelRun", Any, dict[str, Any], "_Position"], None]

# Only the selections of plans kept across requests (`_OperationPlans`) are compiled, once they
# have completed this many objects: compiling costs some 45 µs a field, a few dozen objects'
# worth, so a document sent once (or a new text each time) must not pay it.
COMPILE_AFTER = 16
MAX_COMPILED_FIELDS = 64


class LevelExecutionContext(StrawberryExecutionContext):
    """Strawberry's execution context with queries run by the level-at-a-time executor."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Not a reference cycle: what the request read is freed as soon as it is answered.
        detach_async_helpers(self)

    def execute_operation(self, serially: bool | None = None) -> Any:
        if not self._can_run_by_level():
            return super().execute_operation(serially)
        return _LevelRun(self).run()

    def _can_run_by_level(self) -> bool:
        return self.operation.operation is OperationType.QUERY and not (
            uses_middleware_or_abort_signal(self)
        )


class _LevelRun:
    """One execution of one query document."""

    def __init__(self, executor: LevelExecutionContext) -> None:
        self.executor = executor
        self.schema = executor.schema
        self.context = executor.context_value
        self.collect_error = error_collector(executor)
        self.errors: list[GraphQLError] = []
        self.python_arguments = argument_converter(executor.schema)
        self.plans: dict[int, tuple[GroupedFieldSet, _Selection]] = {}
        self.argument_values: dict[_FieldPlan, _Arguments] = {}
        self.batches: dict[_FieldPlan, list[tuple[Any, dict[str, Any], _Position]]] = {}
        self.pending: list[tuple[Awaitable[Any], Callable[[Any], None]]] = []
        self.data_nulled = False
        self.kept = False  # whether the plans were kept from an earlier request

    async def run(self) -> Any:
        executor = self.executor
        try:
            root_type = self.schema.get_root_type(OperationType.QUERY)
            if root_type is None:
                raise GraphQLError(
                    "Schema is not configured to execute query operation.", executor.operation
                )
            operation_plans = _OperationPlans.of(executor)
            selection = operation_plans.root_plans(executor)
            self.kept = selection is not None
            if selection is None:
                grouped = collect_root_fields(executor, root_type)
                selection = self.plans_of(root_type, grouped, None)
                operation_plans.keep(executor, selection)
        except GraphQLError as error:
            self.add_error(error, None)
            return finished_response(executor, None)
        data: dict[str, Any] = {}
        root = _Position(None, "", False, None, None)
        try:
            self.execute_fields(selection, executor.root_value, data, root)
            await self.drain()
        finally:
            # Work left by a run stopped half way (cancelled) refers back to this run.
            self.pending.clear()
            self.batches.clear()
            for error in self.errors:
                _release_frames(error)
        return finished_response(executor, None if self.data_nulled else data)

    # -- walking the tree -------------------------------------------------------------------

    async def drain(self) -> None:
        """Run the pending work level by level until nothing is left."""
        while self.batches or self.pending:
            self.start_batches()
            pending, self.pending = self.pending, []
            if len(pending) == 1:
                awaitable, resume = pending[0]
                try:
                    result = await awaitable
                except Exception as error:
                    result = error
                resume(result)
                continue
            results = await asyncio.gather(*(a for a, _ in pending), return_exceptions=True)
            for (_, resume), result in zip(pending, results, strict=True):
                if isinstance(result, BaseException) and not isinstance(result, Exception):
                    raise result
                resume(result)

    def execute_fields(
        self, selection: _Selection, source: Any, data: dict[str, Any], position: _Position
    ) -> None:
        """Every field of `selection` on the object `source`, into `data`."""
        fill = selection.fill
        if fill is not None:
            fill(self, source, data, position)
            return
        selection.uses += 1
        if self.kept and selection.uses >= COMPILE_AFTER and selection.compilable:
            try:
                selection.fill = _compile(selection)
            except Exception:
                logger.exception("could not compile the fields of %s", selection.object_type)
                selection.compilable = False
        parent_type = selection.object_type
        for plan in selection.plans:
            key = plan.response_key
            kind = plan.kind
            if kind == _ATTRIBUTE:
                try:
                    value = getattr(source, plan.python_name)
                except Exception as error:
                    self.field_error(error, plan, data, position)
                    continue
                if plan.leaf is not None:
                    self.complete_leaf(plan, value, data, position)
                else:
                    self.complete_slot(
                        plan.return_type, plan, value, data, key, position, parent_type.name
                    )
            elif kind == _TYPENAME:
                data[key] = parent_type.name
            elif kind == _BATCH:
                self.enqueue(plan, source, data, position)
            else:
                self.call_resolver(plan, source, data, position)

    def complete_leaf(
        self, plan: _FieldPlan, value: Any, data: dict[str, Any], position: _Position
    ) -> None:
        """A scalar or enum field's value, read from its object, into `data`."""
        key = plan.response_key
        if value is None:
            if plan.non_null:
                self.field_error(TypeError(_null_message(plan)), plan, data, position)
            else:
                data[key] = None
            return
        if plan.string_leaf and value.__class__ is str:
            data[key] = value
            return
        enum_names = plan.enum_names
        if enum_names is not None and value.__class__ in enum_names[0]:
            data[key] = enum_names[1][value]
            return
        try:
            data[key] = _coerce_leaf(plan.leaf, value)
        except Exception as error:
            self.field_error(error, plan, data, position)

    def enqueue(
        self, plan: _FieldPlan, source: Any, data: dict[str, Any], position: _Position
    ) -> None:
        """A batch-resolved field of `source`: resolved with the level's other parents."""
        data[plan.response_key] = None
        entries = self.batches.get(plan)
        if entries is None:
            self.batches[plan] = [(source, data, position)]
        else:
            entries.append((source, data, position))

    def call_resolver(
        self, plan: _FieldPlan, source: Any, data: dict[str, Any], position: _Position
    ) -> None:
        key = plan.response_key
        typename = plan.parent_type.name
        try:
            raw_args, _, args_error = self.arguments(plan)
            if args_error is not None:
                raise args_error
            if plan.kind == FieldKind.METHOD:
                value = plan.method(source)
            else:
                path = Path(position.path, key, typename)
                info = build_resolve_info(
                    self.executor, plan.field_def, plan.nodes, plan.parent_type, path
                )
                value = plan.field_def.resolve(source, info, **raw_args)  # type: ignore[misc]
        except Exception as error:
            self.field_error(error, plan, data, position)
            return
        if inspect.isawaitable(value):
            data[key] = None
            self.pending.append(
                (
                    value,
                    lambda result: self.complete_slot(
                        plan.return_type, plan, result, data, key, position, typename
                    ),
                )
            )
            return
        self.complete_slot(plan.return_type, plan, value, data, key, position, typename)

    def start_batches(self) -> None:
        batches, self.batches = self.batches, {}
        for plan, entries in batches.items():
            try:
                _, python_kwargs, args_error = self.arguments(plan)
                if args_error is not None:
                    raise args_error
                results = plan.batch([entry[0] for entry in entries], self.context, **python_kwargs)
            except Exception as error:
                self.deliver_batch(plan, entries, error)
                continue
            if inspect.isawaitable(results):
                self.pending.append((results, partial(self.deliver_batch, plan, entries)))
            else:
                self.deliver_batch(plan, entries, results)

    def deliver_batch(
        self,
        plan: _FieldPlan,
        entries: list[tuple[Any, dict[str, Any], _Position]],
        results: Any,
    ) -> None:
        if isinstance(results, Exception):
            results = [results] * len(entries)
        elif len(results) != len(entries):
            mismatch = TypeError(
                f"Batch resolver of {plan.parent_type.name}.{plan.name} returned "
                f"{len(results)} results for {len(entries)} parents."
            )
            results = [mismatch] * len(entries)
        name = plan.parent_type.name
        key = plan.response_key
        for (_, data, position), value in zip(entries, results, strict=True):
            self.complete_slot(plan.return_type, plan, value, data, key, position, name)

    # -- completing values ------------------------------------------------------------------

    def complete_slot(
        self,
        return_type: GraphQLOutputType,
        plan: _FieldPlan,
        value: Any,
        container: Any,
        key: str | int,
        parent: _Position,
        typename: str | None,
    ) -> None:
        """Complete `value` into `container[key]` (a field of an object of type `typename`, or
        an item of a list when None); a failure nulls the nearest nullable place."""
        if isinstance(value, Exception):
            # Not raised again: its traceback would gain this frame, and through it the caller's.
            self.slot_failed(value, return_type, plan, container, key, parent, typename)
            return
        try:
            value_type = return_type
            nullable = True
            if value_type.__class__ is GraphQLNonNull:
                if value is None or value is Undefined:
                    raise TypeError(_null_message(plan))
                value_type = value_type.of_type  # type: ignore[attr-defined]
                nullable = False
            if value is None or value is Undefined:
                container[key] = None
            elif isinstance(value_type, GraphQLObjectType):
                position = _Position(container, key, nullable, parent, typename)
                self.complete_object(value_type, plan, value, position)
            elif value_type.__class__ is GraphQLList:
                position = _Position(container, key, nullable, parent, typename)
                self.complete_list(value_type, plan, value, position)
            elif isinstance(value_type, GraphQLScalarType | GraphQLEnumType):
                container[key] = _coerce_leaf(value_type, value)
            else:
                if is_abstract_type(value_type):
                    value_type = self.runtime_type(
                        value_type, plan, value, Path(parent.path, key, typename)
                    )
                position = _Position(container, key, nullable, parent, typename)
                self.complete_object(value_type, plan, value, position)
        except Exception as raw:
            self.slot_failed(raw, return_type, plan, container, key, parent, typename)

    def slot_failed(
        self,
        raw: Exception,
        return_type: GraphQLOutputType,
        plan: _FieldPlan,
        container: Any,
        key: str | int,
        parent: _Position,
        typename: str | None,
    ) -> None:
        path = Path(parent.path, key, typename)
        error = located_error(raw, plan.nodes, path.as_list())
        if return_type.__class__ is GraphQLNonNull:
            self.null_out(parent, error)
        else:
            container[key] = None
            self.add_error(error, path)

    def complete_list(
        self, return_type: GraphQLList[Any], plan: _FieldPlan, value: Any, position: _Position
    ) -> None:
        """Complete a list, not null, into the place `position` names."""
        if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{plan.parent_type.name}.{plan.name}'."
            )
        items: list[Any] = []
        position.container[position.key] = items
        item_type = return_type.of_type
        object_type = item_type.of_type if item_type.__class__ is GraphQLNonNull else item_type
        if object_type.__class__ is not GraphQLObjectType:
            for index, item in enumerate(value):
                items.append(None)
                self.complete_slot(item_type, plan, item, items, index, position, None)
            return
        # Items of one object type, as in every list view: an item of the type's own class is
        # completed here, as `complete_slot` and `complete_object` would, without their checks.
        selection = plan.subplans.get(object_type)
        if selection is None:
            selection = self.subplan(plan, object_type)
        own_class = selection.own_class
        nullable = item_type is object_type
        for index, item in enumerate(value):
            if item.__class__ is not own_class:
                items.append(None)
                self.complete_slot(item_type, plan, item, items, index, position, None)
                continue
            data: dict[str, Any] = {}
            items.append(data)
            try:
                self.execute_fields(
                    selection, item, data, _Position(items, index, nullable, position, None)
                )
            except Exception as raw:
                self.slot_failed(raw, item_type, plan, items, index, position, None)

    def complete_object(
        self, object_type: GraphQLObjectType, plan: _FieldPlan, value: Any, position: _Position
    ) -> None:
        """Complete an object, not null, into the place `position` names."""
        selection = plan.subplans.get(object_type)
        if selection is None:
            selection = self.subplan(plan, object_type)
        if value.__class__ is not selection.own_class:
            is_type_of = object_type.is_type_of
            if is_type_of is not None and not is_type_of(value, None):
                raise GraphQLError(
                    f"Expected value of type '{object_type.name}' but got: {inspect_value(value)}.",
                    plan.nodes,
                )
        data: dict[str, Any] = {}
        position.container[position.key] = data
        self.execute_fields(selection, value, data, position)

    def subplan(self, plan: _FieldPlan, object_type: GraphQLObjectType) -> _Selection:
        grouped = collect_subfields(self.executor, object_type, plan.details)
        selection = self.plans_of(object_type, grouped, exact_python_class(object_type))
        plan.subplans[object_type] = selection
        return selection

    def runtime_type(
        self, abstract_type: Any, plan: _FieldPlan, value: Any, path: Path
    ) -> GraphQLObjectType:
        executor = self.executor
        info = build_resolve_info(executor, plan.field_def, plan.nodes, plan.parent_type, path)
        resolve_type = abstract_type.resolve_type or executor.type_resolver
        runtime_type_name = resolve_type(value, info, abstract_type)
        if inspect.isawaitable(runtime_type_name):
            # Our types resolve synchronously; an async `resolve_type` would need its own level.
            if inspect.iscoroutine(runtime_type_name):
                runtime_type_name.close()
            raise TypeError(f"Abstract type '{abstract_type}' resolved its type asynchronously.")
        return ensure_valid_runtime_type(
            executor, runtime_type_name, abstract_type, plan.details, info, value
        )

    # -- errors -----------------------------------------------------------------------------

    def add_error(self, error: GraphQLError, path: Path | None) -> None:
        self.errors.append(error)
        self.collect_error(error, path)

    def field_error(
        self,
        raw: Exception,
        plan: _FieldPlan,
        data: dict[str, Any],
        position: _Position,
    ) -> None:
        path = Path(position.path, plan.response_key, plan.parent_type.name)
        error = located_error(raw, plan.nodes, path.as_list())
        if plan.non_null:
            self.null_out(position, error)
        else:
            data[plan.response_key] = None
            self.add_error(error, path)

    def null_out(self, position: _Position | None, error: GraphQLError) -> None:
        """A non-null place failed: null the nearest nullable place above it (or all data)."""
        while position is not None and not position.nullable:
            position = position.parent
        if position is None:
            self.data_nulled = True
            self.add_error(error, None)
            return
        position.container[position.key] = None
        self.add_error(error, position.path)

    # -- plans --------------------------------------------------------------------------------

    def plans_of(
        self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet, own_class: type | None
    ) -> _Selection:
        # Grouped field sets are memoized (and kept alive) by the executor, so identity is a
        # stable key for this request.
        cached = self.plans.get(id(grouped))
        if cached is not None:
            return cached[1]
        plans = []
        for response_key, details in grouped.items():
            plan = self.plan_field(parent_type, response_key, details)
            if plan is not None:
                plans.append(plan)
        selection = _Selection(parent_type, plans, own_class)
        self.plans[id(grouped)] = (grouped, selection)
        return selection

    def plan_field(
        self, parent_type: GraphQLObjectType, response_key: str, details: FieldDetailsList
    ) -> _FieldPlan | None:
        nodes = field_nodes(details)
        first = nodes[0]
        name = first.name.value
        field_def = self.schema.get_field(parent_type, name)
        if field_def is None:
            return None
        plan = _FieldPlan(response_key, parent_type)
        plan.name = name
        plan.field_def = field_def
        plan.details = details
        plan.nodes = nodes
        plan.return_type = field_def.type
        plan.non_null = field_def.type.__class__ is GraphQLNonNull
        named = field_def.type.of_type if plan.non_null else field_def.type  # type: ignore[attr-defined]
        plan.leaf = named if isinstance(named, GraphQLScalarType | GraphQLEnumType) else None
        plan.string_leaf = plan.leaf is not None and plan.leaf.name in ("String", "ID")
        plan.enum_names = _enum_names(plan.leaf) if isinstance(named, GraphQLEnumType) else None
        plan.batch = None
        plan.method = None
        plan.joins = None
        plan.python_name = name
        plan.args_vary = False
        plan.raw_args, plan.python_kwargs, plan.args_error = {}, {}, None
        if name == "__typename":
            plan.kind = FieldKind.TYPENAME
            return plan
        plan.kind = self.kind_of(plan, field_def)
        arguments = self.compute_arguments(plan)
        # Plans outlive the request (`_OperationPlans`): arguments read from variables, and
        # errors (raised once per request, with their own traceback), are computed per request.
        plan.args_vary = arguments[2] is not None or _uses_variables(nodes)
        if not plan.args_vary:
            plan.raw_args, plan.python_kwargs, plan.args_error = arguments
        else:
            self.argument_values[plan] = arguments
        return plan

    def arguments(self, plan: _FieldPlan) -> _Arguments:
        """The field's coerced arguments, their Python values (for a batch resolver) and the
        error coercing them raised, for this request."""
        if not plan.args_vary:
            return plan.raw_args, plan.python_kwargs, plan.args_error
        arguments = self.argument_values.get(plan)
        if arguments is None:
            arguments = self.argument_values[plan] = self.compute_arguments(plan)
        return arguments

    def compute_arguments(self, plan: _FieldPlan) -> _Arguments:
        field_def = plan.field_def
        raw_args: dict[str, Any] = {}
        try:
            if field_def.args or plan.nodes[0].arguments:
                raw_args = argument_values(self.executor, field_def, plan.details)
        except Exception as error:
            return {}, {}, error
        if plan.kind != FieldKind.BATCH:
            return raw_args, {}, None
        field = strawberry_field(field_def)
        assert field is not None  # a batch resolver is a Strawberry field's
        try:
            python_kwargs = self.python_arguments(raw_args, field)
        except Exception as error:
            return raw_args, {}, error
        if plan.joins is not None:
            python_kwargs = {**python_kwargs, JOINS: plan.joins}
        return raw_args, python_kwargs, None

    def kind_of(self, plan: _FieldPlan, field_def: GraphQLField) -> FieldKind:
        field = strawberry_field(field_def)
        if field is None or wraps_resolver(field):
            return FieldKind.RESOLVER
        if not has_resolver(field):
            python_name = attribute_name(field)
            if python_name is None:
                return FieldKind.RESOLVER
            plan.python_name = python_name
            return FieldKind.ATTRIBUTE
        batch = batch_resolver_of(field)
        if batch is not None:
            plan.batch = batch
            if _takes_joins(batch):
                plan.joins = links_selected(
                    plan.return_type, plan.nodes, fragment_definitions(self.executor)
                )
            return FieldKind.BATCH
        method = plain_method(field)
        if method is not None:
            plan.method = method
            return FieldKind.METHOD
        return FieldKind.RESOLVER


_Arguments = tuple[dict[str, Any], dict[str, Any], Exception | None]

_ENUM_NAMES: WeakKeyDictionary[GraphQLEnumType, tuple[frozenset[type], dict[Any, str]] | None] = (
    WeakKeyDictionary()
)


def _enum_names(enum_type: Any) -> tuple[frozenset[type], dict[Any, str]] | None:
    """The GraphQL name of each member of the Python enum behind `enum_type`, and its class:
    what its `coerce_output_value` answers for a member (Strawberry 0.341 scans every value for
    each), looked up instead. None for an enum without a Python class."""
    if enum_type in _ENUM_NAMES:
        return _ENUM_NAMES[enum_type]
    members = enum_names_of(enum_type)
    found = None if members is None else (frozenset({type(m) for m in members}), members)
    _ENUM_NAMES[enum_type] = found
    return found


def _uses_variables(nodes: list[FieldNode]) -> bool:
    """Whether a field's arguments read a variable (at any depth of a list or input object)."""
    pending: list[Any] = [a.value for node in nodes for a in node.arguments or ()]
    while pending:
        value = pending.pop()
        if isinstance(value, VariableNode):
            return True
        if isinstance(value, ListValueNode):
            pending.extend(value.values)
        elif isinstance(value, ObjectValueNode):
            pending.extend(field.value for field in value.fields)
    return False


class _OperationPlans:
    """The plans of one operation of a parsed document, kept across requests.

    A plan depends on the document, the operation and the values of the variables its `@skip`
    and `@include` read (which decide the fields collected); arguments that read variables are
    computed per request (`_LevelRun.arguments`). Parsed documents are cached and reused
    (`server.preflight`), so the operation's node identifies its document; this holds it, so
    the identity stays valid while the plans are kept.
    """

    __slots__ = ("directive_variables", "operation", "variants")

    MAX_VARIANTS = 8
    # Per schema, in the schema's own `extensions` (graphql-core keeps them for such metadata):
    # plans refer to the schema's fields, whose resolvers refer to the schema, so a weak map
    # from schema to plans would keep every schema alive (the tests build one per app).
    _KEY = "backlog.operation_plans"

    @classmethod
    def kept(cls, schema: GraphQLSchema) -> OrderedDict[int, _OperationPlans]:
        """The plans kept for `schema`, by the identity of their operation's node."""
        # With the schema they were made for: a schema rebuilt from this one's arguments
        # (`to_kwargs`) is given the same `extensions` dict, but not these plans.
        found: tuple[GraphQLSchema, OrderedDict[int, _OperationPlans]] | None = (
            schema.extensions.get(cls._KEY)
        )
        if found is None or found[0] is not schema:
            found = schema.extensions[cls._KEY] = (schema, OrderedDict())
        return found[1]

    def __init__(self, operation: OperationDefinitionNode, fragments: list[Any]) -> None:
        self.operation = operation
        self.directive_variables = _directive_variables([operation, *fragments])
        self.variants: dict[tuple[Any, ...], _Selection] = {}

    @classmethod
    def of(cls, executor: Any) -> _OperationPlans:
        operation = executor.operation
        kept = cls.kept(executor.schema)
        found = kept.get(id(operation))
        if found is not None and found.operation is operation:
            kept.move_to_end(id(operation))
            return found
        found = kept[id(operation)] = cls(operation, list(fragment_definitions(executor).values()))
        while len(kept) > KEPT_DOCUMENTS:
            kept.popitem(last=False)
        return found

    def variant(self, executor: Any) -> tuple[Any, ...]:
        values = coerced_variables(executor)
        return tuple(values.get(name) for name in self.directive_variables)

    def root_plans(self, executor: Any) -> _Selection | None:
        return self.variants.get(self.variant(executor))

    def keep(self, executor: Any, selection: _Selection) -> None:
        if len(self.variants) < self.MAX_VARIANTS:
            self.variants[self.variant(executor)] = selection


def _directive_variables(definitions: list[Any]) -> tuple[str, ...]:
    """The variables the `@skip` and `@include` of `definitions` read, in a stable order."""
    names: set[str] = set()
    pending = [definition.selection_set for definition in definitions]
    while pending:
        selection_set = pending.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                if directive.name.value in ("skip", "include"):
                    for argument in directive.arguments or ():
                        if isinstance(argument.value, VariableNode):
                            names.add(argument.value.name.value)
            pending.append(getattr(selection, "selection_set", None))
    return tuple(sorted(names))


_TAKES_JOINS: dict[Any, bool] = {}


def _takes_joins(batch: Any) -> bool:
    taken = _TAKES_JOINS.get(batch)
    if taken is None:
        taken = _TAKES_JOINS[batch] = takes_joins(batch)
    return taken


def _release_frames(error: GraphQLError) -> None:
    """Let the frames an error passed through go of their local variables.

    An error caught here and kept (in the response's errors, as a batch's result) holds its
    traceback, whose frames hold the executor's locals, which lead back to the error: a reference
    cycle that would keep the whole request for the cycle collector. Once the run is over those
    frames are finished; the traceback still names every file, line and function for the log.
    """
    for raised in (error, error.original_error):
        if raised is not None and raised.__traceback__ is not None:
            traceback.clear_frames(raised.__traceback__)


def _compile(selection: _Selection) -> _Fill:
    """`_LevelRun.execute_fields` for this one selection, written out field by field as
    graphql-jit does for graphql-js: no loop over plans, no branch on a field's kind, the
    common leaves (strings and IDs, 32-bit ints, booleans, enums with a Python class) taken as
    they are and other scalars serialized in place. Any other value, and every error, goes the
    way `execute_fields` sends it, so the response is the same byte for byte
    (`tests/unit/test_executor_compiled.py`, `tests/platform/test_executor_fuzz.py`)."""
    typename = selection.object_type.name
    names: dict[str, Any] = {"Undefined": Undefined}
    lines = ["def fill(run, source, data, position):"]
    for index, plan in enumerate(selection.plans):
        p = f"p{index}"
        names[p] = plan
        key = repr(plan.response_key)
        if plan.kind == _TYPENAME:
            lines.append(f"    data[{key}] = {typename!r}")
        elif plan.kind == _BATCH:
            lines.append(f"    run.enqueue({p}, source, data, position)")
        elif plan.kind != _ATTRIBUTE:
            lines.append(f"    run.call_resolver({p}, source, data, position)")
        else:
            attribute = plan.python_name
            # ASCII only: Python would read another name for some others (NFKC).
            read = (
                f"source.{attribute}"
                if attribute.isascii() and attribute.isidentifier() and not iskeyword(attribute)
                else f"getattr(source, {attribute!r})"
            )
            lines += [
                "    try:",
                f"        value = {read}",
                "    except Exception as error:",
                f"        run.field_error(error, {p}, data, position)",
            ]
            if plan.leaf is None:
                lines += [
                    "    else:",
                    f"        run.complete_slot({p}.return_type, {p}, value, data, {key}, position,"
                    f" {typename!r})",
                ]
                continue
            inline = _inline_leaf(plan, index, names)
            if inline is None:
                # Serialized here (a date's `isoformat`); a null, a failure or a scalar that
                # gives nothing go to `complete_leaf`, which serializes again and says why.
                names[f"coerce{index}"] = plan.leaf.coerce_output_value
                lines += [
                    "    else:",
                    "        result = None",
                    "        if value is not None:",
                    "            try:",
                    f"                result = coerce{index}(value)",
                    "            except Exception:",
                    "                result = None",
                    "        if result is None or result is Undefined:",
                    f"            run.complete_leaf({p}, value, data, position)",
                    "        else:",
                    f"            data[{key}] = result",
                ]
                continue
            test, result = inline
            lines += ["    else:", f"        if {test}:", f"            data[{key}] = {result}"]
            lines += ["        else:", f"            run.complete_leaf({p}, value, data, position)"]
    if len(lines) == 1:
        lines.append("    pass")
    exec(compile("\n".join(lines), f"<fields of {typename}>", "exec"), names)
    # Popped: as a function's own global, it would be a reference cycle.
    fill: _Fill = names.pop("fill")
    return fill


def _inline_leaf(plan: _FieldPlan, index: int, names: dict[str, Any]) -> tuple[str, str] | None:
    """The test for a leaf's value that serializes as it is (or by a lookup), and the
    serialized value; a value failing the test goes through `_LevelRun.complete_leaf`. None
    for a leaf its scalar serializes (dates, floats, JSON)."""
    leaf = plan.leaf
    if plan.string_leaf:
        return "value.__class__ is str", "value"
    if plan.enum_names is not None:
        names[f"classes{index}"], names[f"members{index}"] = plan.enum_names
        return f"value.__class__ in classes{index}", f"members{index}[value]"
    if leaf is GraphQLInt:
        return "value.__class__ is int and -2147483648 <= value <= 2147483647", "value"
    if leaf is GraphQLBoolean:
        return "value.__class__ is bool", "value"
    return None


def _coerce_leaf(leaf: GraphQLScalarType | GraphQLEnumType, value: Any) -> Any:
    coerced = leaf.coerce_output_value(value)
    if coerced is Undefined or coerced is None:
        raise TypeError(
            f"Expected `{inspect_value(leaf)}.coerce_output_value({inspect_value(value)})` to"
            f" return non-nullable value, returned: {inspect_value(coerced)}"
        )
    return coerced


def _null_message(plan: _FieldPlan) -> str:
    return f"Cannot return null for non-nullable field {plan.parent_type.name}.{plan.name}."
