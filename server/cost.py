"""The cost of a document, known before any SQL: how many objects its response can hold at most.

The model, which a client can compute from its own document:

- every field that returns an object costs 1 for each object it can return, times the number
  of parents it is asked on;
- a connection's `nodes` and `edges` hold as many objects as its page (`first` or `last`, 50
  when neither is given), so everything selected under them is multiplied by that page;
- `workspace.changes(first:)` is a page too: its `nodes` hold `first` objects (100 when not
  given, at most 500);
- `nodes(ids:)` returns one object per ID; any other list of objects counts as 100, the most any
  list returns (the board's groups are capped at that), and its own `first` is the page of the
  connections under it that take none (the board: `issueGroups(first: n)` is n issues a group);
- scalars, enums and `__typename` are free; introspection costs a flat 2,000 for `__schema`
  (what the whole schema's description holds) and 100 for `__type`.

`issues(first: 100) { nodes { project { issues(first: 100) { nodes { id } } } } }` costs 1 (the
outer connection) + 100 (issues) + 100 (projects) + 100 (inner connections) + 10,000 (issues):
10,301. A document costing more than `max_cost` is refused with `COST_LIMIT_EXCEEDED`, its cost
and the limit in the error's `extensions`, before any SQL.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    get_variable_values,
    is_leaf_type,
    visit,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from core.errors import CostLimitExceededError
from core.kept import KEPT_DOCUMENTS, KeptPer
from db.session import UNAVAILABLE_MESSAGE, DatabaseUnavailableError
from execution.graphql_internals import graphql_schema
from resolvers.changes import DEFAULT_CHANGES, MAX_CHANGES
from schema.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from server.rate_limit import (
    OBJECTS_PER_POINT,
    account_operations,
    iso,
    refusal,
    request_points,
)

if TYPE_CHECKING:
    from core.limits import RateLimitStatus
    from resolvers.context import Context
    from server.rate_limit import RateLimiter

logger = logging.getLogger("backlog.rate_limits")

SIZING_ARGUMENTS = frozenset({"first", "last", "ids"})
"""The arguments whose values the walk reads (`_Walk._page`, `_Walk._size`)."""
PAGED_LISTS = frozenset({"nodes", "edges"})
"""The fields of a connection that hold its page."""
INTROSPECTION_COSTS = {"__schema": 2_000, "__type": 100}
"""Flat, whatever is selected under them: GraphiQL's whole introspection query returns 1,972
objects, one type with its fields and their types about 65."""
CHANGE_SET = "ChangeSet"
"""What `workspace.changes` returns: a page of its own, of `first` changed objects."""
MAX_NODES_ARGUMENT = 100
MAX_LIST_SIZE = MAX_PAGE_SIZE
"""What a list of objects that is not a page counts as (`schema.board` caps its groups so)."""


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation a request runs (0 if there is none to run: execution says
    why), walked once per document, operation and values of the variables the walk reads.

    Documents are parsed once per process (`server.preflight.parsed`), so a document's
    identity names its text; the walk was 4% of the detail view's instructions."""
    known = _KNOWN_COSTS.get(schema, document)
    if known is None:
        known = _KNOWN_COSTS.keep(_KnownCosts(_sizing_variables(document)), schema, document)
    given = variables or {}
    # The raw values as sent (JSON values, spelled by `repr`, which tells 1 from 1.0, True and
    # "1"): coercing them is deterministic, so equal values cost the same.
    values = (
        operation_name,
        *(repr(given[name]) if name in given else None for name in known.reads),
    )
    cost = known.costs.get(values)
    if cost is None:
        cost = walked_cost(schema, document, operation_name, variables)
        # Long values (a list of a hundred ids) are walked each time, not kept: a client
        # sending new ones could otherwise fill the memory with them.
        short = sum(len(value) for value in values[1:] if value is not None) <= MAX_KEPT_VALUES
        if short and len(known.costs) < MAX_KNOWN_VARIANTS:
            known.costs[values] = cost
    return cost


class _KnownCosts:
    """The costs of one document's operations, by operation name and the values of the
    variables that size it (`reads`)."""

    __slots__ = ("costs", "reads")

    def __init__(self, reads: tuple[str, ...]):
        self.reads = reads
        self.costs: dict[tuple[str | None, ...], int] = {}


MAX_KNOWN_VARIANTS = 16
MAX_KEPT_VALUES = 200
"""The longest spelling of a document's sizing variables whose cost is kept, in characters."""
# Per schema and parsed document.
_KNOWN_COSTS: KeptPer[_KnownCosts] = KeptPer(most=KEPT_DOCUMENTS)


def _sizing_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables the walk may read: those given (at any depth) to a `first`, `last` or
    `ids` argument anywhere in the document."""
    names: set[str] = set()

    class Finder(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            if node.name.value in SIZING_ARGUMENTS:
                visit(node.value, Collector())

    class Collector(Visitor):
        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            names.add(node.name.value)

    visit(document, Finder())
    return tuple(sorted(names))


def walked_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation, by walking its document (what `operation_cost` does once per
    document and values of the variables that size it)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    # Coerced as execution will coerce them: defaults filled in, `100.0` read as 100.
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {})
    )
    values = coerced.coerced if not isinstance(coerced, list) else variables or {}
    walk = _Walk(schema, fragments, values)
    return walk.selections(
        root, operation.selection_set, parents=1, page=None, given_page=None, seen=()
    )


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selections(
        self,
        parent_type: GraphQLNamedType,
        selection_set: SelectionSetNode,
        *,
        parents: int,
        page: int | None,
        given_page: int | None,
        seen: tuple[str, ...],
    ) -> int:
        """The cost of `selection_set` asked on `parents` objects of `parent_type`; `page` is
        the page size when the parent is a connection, `given_page` the `first` of a list
        above that connections without paging arguments take."""
        total = 0
        for field, owner in self._fields(parent_type, selection_set, seen):
            total += self._field(
                owner, field, parents=parents, page=page, given_page=given_page, seen=seen
            )
        return total

    def _fields(
        self,
        parent_type: GraphQLNamedType,
        selection_set: SelectionSetNode,
        seen: tuple[str, ...],
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        """Each field selected, with the type it is selected on (fragments spread in place; a
        fragment already being spread is skipped, as validation refuses such cycles)."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent_type
            elif isinstance(selection, InlineFragmentNode):
                on = self._type(selection.type_condition, parent_type)
                yield from self._fields(on, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                on = self._type(fragment.type_condition, parent_type)
                yield from self._fields(on, fragment.selection_set, (*seen, name))

    def _type(self, condition: Any, default: GraphQLNamedType) -> GraphQLNamedType:
        if condition is None:
            return default
        return self.schema.get_type(condition.name.value) or default

    def _field(
        self,
        owner: GraphQLNamedType,
        field: FieldNode,
        *,
        parents: int,
        page: int | None,
        given_page: int | None,
        seen: tuple[str, ...],
    ) -> int:
        name = field.name.value
        if name in INTROSPECTION_COSTS:
            return parents * INTROSPECTION_COSTS[name]
        definition = getattr(owner, "fields", {}).get(name)
        if definition is None or field.selection_set is None:
            return 0  # a leaf, `__typename`, or a field validation refuses
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        objects = parents * self._size(definition.type, field, name, page)
        own_page = self._page(field)
        inner_page = None
        if named.name.endswith("Connection"):
            inner_page = own_page if own_page is not None else given_page or DEFAULT_PAGE_SIZE
            given_page = None  # taken by this connection
        elif named.name == CHANGE_SET:
            changes = self._page(field, most=MAX_CHANGES)
            inner_page = changes if changes is not None else DEFAULT_CHANGES
            given_page = None
        elif own_page is not None:
            given_page = own_page
        return objects + self.selections(
            named,
            field.selection_set,
            parents=objects,
            page=inner_page,
            given_page=given_page,
            seen=seen,
        )

    def _size(self, field_type: Any, field: FieldNode, name: str, page: int | None) -> int:
        """How many objects the field returns for one parent."""
        if not isinstance(get_nullable_type(field_type), GraphQLList):
            return 1
        if page is not None and name in PAGED_LISTS:
            return page
        if name == "nodes":
            ids = self._argument(field, "ids")
            if isinstance(ids, list):
                return min(len(ids), MAX_NODES_ARGUMENT)
        return MAX_LIST_SIZE

    def _page(self, field: FieldNode, *, most: int = MAX_PAGE_SIZE) -> int | None:
        """The page the field's `first` or `last` asks for, if it has one (a larger one is
        refused when it runs)."""
        for name in ("first", "last"):
            value = self._argument(field, name)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(0, min(value, most))
        return None

    def _argument(self, field: FieldNode, name: str) -> Any:
        for argument in field.arguments or ():
            if argument.name.value != name:
                continue
            node = argument.value
            if isinstance(node, VariableNode):
                return self.variables.get(node.name.value)
            if isinstance(node, IntValueNode):
                return int(node.value)
            if isinstance(node, ListValueNode):
                return [self._literal(item) for item in node.values]
            return None
        return None

    def _literal(self, node: Any) -> Any:
        return self.variables.get(node.name.value) if isinstance(node, VariableNode) else node


class CostLimit(SchemaExtension):
    """Before a document runs (after validation, with the request's variables, so before any
    SQL): refuses it if its cost exceeds `max_cost`, then charges its caller's rate limit
    (`server/rate_limit.py`). The response's `extensions` carry the cost and, with rate limits
    on, the caller's budget."""

    def __init__(self, *, max_cost: int, limiter: RateLimiter) -> None:
        self.max_cost = max_cost
        self.limiter = limiter
        self.cost: int | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            self.cost = operation_cost(
                graphql_schema(context.schema),
                document,
                context.operation_name,
                context.variables,
            )
            refusal = self._over_limit(self.cost)
            if refusal is None and self.limiter.enabled:
                refusal = await self._charge(self.cost, document)
            if refusal is not None:
                context.result = ExecutionResult(
                    data=None, errors=[GraphQLError(str(refusal), original_error=refusal)]
                )
        yield

    def _over_limit(self, cost: int) -> Exception | None:
        if cost <= self.max_cost:
            return None
        return CostLimitExceededError(
            f"This document may return {cost:,} objects; the limit is {self.max_cost:,}. Ask "
            "for smaller pages (`first`/`last`) or fewer nested connections.",
            cost=cost,
            limit=self.max_cost,
        )

    async def _charge(self, cost: int, document: DocumentNode) -> Exception | None:
        """Charges what the document owes beyond the point its request paid to be admitted
        (`GraphQLEndpoint.run`); the request's status then tells its whole price."""
        request: Context = self.execution_context.context
        admitted: RateLimitStatus | None = getattr(request, "rate_limit", None)
        if admitted is None:  # not admitted by `GraphQLEndpoint.run`: a schema driven directly
            return None
        admission = self.limiter.admission(request.viewer, request.client_address)
        points = request_points(cost)
        if points > admission.limit:
            # It would be refused in every window: not a matter of waiting.
            most = admission.limit * OBJECTS_PER_POINT - 1
            return CostLimitExceededError(
                f"This document may return {cost:,} objects, {points:,} points; your "
                f"budget is {admission.limit:,} points a window, enough for {most:,} objects.",
                cost=cost,
                limit=most,
            )
        operations = account_operations(document, self.execution_context.operation_name)
        if 0 < self.limiter.account_limit < operations:
            return CostLimitExceededError(
                f"This document holds {operations} sign-ups, sign-ins, token refreshes, password "
                f"changes or invitations; one address may make {self.limiter.account_limit} a "
                "window.",
                cost=operations,
                limit=self.limiter.account_limit,
            )
        charges = self.limiter.document_charges(admission, request.client_address, cost, operations)
        verdict = None
        if charges:
            try:
                verdict = await self.limiter.charge(charges)
            except DatabaseUnavailableError as error:
                return error
            except Exception:
                # As at admission (`GraphQLEndpoint.run`): logged once, and answered as the
                # retryable 503 it is to the client, whatever failed.
                logger.exception("rate limit charge failed")
                return DatabaseUnavailableError(UNAVAILABLE_MESSAGE)
            if charges[0].key == admission.key:
                admitted = verdict.status
        request.rate_limit = replace(admitted, cost=points)
        if verdict is None or verdict.allowed:
            return None
        return refusal(verdict, request.rate_limit)

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        results: dict[str, Any] = {
            "cost": {"objects": self.cost, "points": request_points(self.cost)}
        }
        status: RateLimitStatus | None = getattr(self.execution_context.context, "rate_limit", None)
        if status is not None:
            results["rateLimit"] = {
                "limit": status.limit,
                "remaining": status.remaining,
                "resetAt": iso(status.reset_at),
            }
        return results
