"""The `filter:` and `orderBy:` inputs of issue lists, and the batch resolution of those lists.

A filter is Linear-style: per-field comparators (`{priority: {lte: HIGH}}`), relations
(`{assignee: {isMe: true}}`, `{labels: {some: {name: {eq: "Bug"}}}}`) and `and`/`or`/`not`.
`filter_spec` turns one into a hashable `db.issue_filters.IssueFilter`, refusing with
BAD_USER_INPUT what it cannot mean or what would cost too much:

    >>> spec = filter_spec(IssueFilter(priority=PriorityComparator(lte=Priority.HIGH)))
    >>> spec.params()
    {'filter_0': <Priority.HIGH: 'HIGH'>}
"""

from __future__ import annotations

import types
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Unpack

import strawberry

from core.errors import BadUserInputError
from core.ids import from_global_id
from core.text import unstorable_text
from db import issue_filters as spec
from schema import orderings
from schema.enums import IssueOrderField, OrderDirection, Priority, WorkflowStateType
from schema.relations import connections_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Sequence

    from resolvers.context import Context
    from schema.issues import Issue
    from schema.pagination import Connection
    from schema.relation_field import PageArguments

MAX_FILTER_DEPTH = 5
"""How deeply `and`/`or`/`not` may nest: the outermost filter is level 1."""
MAX_FILTER_CONDITIONS = 50
"""How many conditions one filter may hold: each comparator operator, each label quantifier and
each nested filter counts one."""
MAX_FILTER_VALUES = 100
"""How many values one `in`/`nin` list may hold (as `nodes(ids:)` takes at most 100 IDs)."""
FILTER_ARGUMENT = "filter"
"""The argument every issue list takes its `IssueFilter` in (and no other argument has)."""


def _operator(description: str, *, name: str | None = None) -> Any:
    return strawberry.field(default=None, name=name, description=description)


_EQ = "Equal to this value."
_NEQ = "Not equal to this value (a null value is not equal to anything, so it matches)."
_IN = f"Equal to one of these values (at most {MAX_FILTER_VALUES}; an empty list matches nothing)."
_NIN = f"Equal to none of these values (at most {MAX_FILTER_VALUES}; null values match)."
_LT, _GT = "Less than this value.", "Greater than this value."
_LTE, _GTE = "Less than or equal to this value.", "Greater than or equal to this value."
_NULL = "true: the value is null (not set); false: it is set."

Value = TypeVar("Value")


@strawberry.input(description="Compares a value for equality with one value or several.")
class _Equality(Generic[Value]):
    """`eq`, `neq`, `in` and `nin`, which every comparator begins with."""

    eq: Value | None = _operator(_EQ)
    neq: Value | None = _operator(_NEQ)
    in_: list[Value] | None = _operator(_IN, name="in")
    nin: list[Value] | None = _operator(_NIN)


@strawberry.input(description="Compares a value of an ordered type.")
class _Ordered(_Equality[Value]):
    """`_Equality`'s operators, then `lt`, `gt`, `lte` and `gte`: the comparators of numbers,
    dates, times and priorities (each type's description says what "less" means for it)."""

    lt: Value | None = _operator(_LT)
    gt: Value | None = _operator(_GT)
    lte: Value | None = _operator(_LTE)
    gte: Value | None = _operator(_GTE)


@strawberry.input(
    description="Compares an ID. An ID of another type, or of an object you cannot see, "
    "matches nothing."
)
class IDComparator(_Equality[strawberry.ID]):
    pass


@strawberry.input(
    description="Compares a text. `contains` and `startsWith` take the text literally "
    "(`%` and `_` are not wildcards)."
)
class StringComparator(_Equality[str]):
    eq_ignore_case: str | None = _operator("Equal to this text, ignoring case.")
    contains: str | None = _operator("Contains this text (case-sensitive).")
    contains_ignore_case: str | None = _operator("Contains this text, ignoring case.")
    starts_with: str | None = _operator("Starts with this text (case-sensitive).")


@strawberry.input(description="Compares a whole number that is always set.")
class NumberComparator(_Ordered[int]):
    pass


@strawberry.input(
    description="Compares a point in time that is always set: an earlier time is less. A value "
    "without a time zone is taken as UTC."
)
class DateTimeComparator(_Ordered[datetime]):
    pass


@strawberry.input(
    description="Compares a priority. Priorities are ordered from the most urgent: URGENT < "
    "HIGH < MEDIUM < LOW < NONE, so less means more urgent: `lt: HIGH` is URGENT, `lte: HIGH` "
    "HIGH or URGENT."
)
class PriorityComparator(_Ordered[Priority]):
    pass


def _nullable(name: str, comparator: type, compares: str) -> Any:
    """The input `name`: the operators of `comparator`, then `null`, for a value that may be
    unset (`compares` says what it compares)."""

    def body(namespace: dict[str, Any]) -> None:
        namespace.update(
            __annotations__={"null": bool | None}, null=_operator(_NULL), __module__=__name__
        )

    cls = types.new_class(name, (comparator,), exec_body=body)
    return strawberry.input(
        cls,
        description=f"{compares}. An unset value satisfies only `neq`, `nin` and `null: true`.",
    )


NullableNumberComparator = _nullable(
    "NullableNumberComparator", NumberComparator, "Compares a whole number that may be unset"
)
NullableDateComparator = _nullable(
    "NullableDateComparator",
    _Ordered[date],
    "Compares a calendar date that may be unset: an earlier date is less",
)
NullableDateTimeComparator = _nullable(
    "NullableDateTimeComparator",
    DateTimeComparator,
    "Compares a point in time that may be unset: an earlier time is less",
)


@strawberry.input(description="Compares the type of a workflow state.")
class WorkflowStateTypeComparator(_Equality[WorkflowStateType]):
    pass


@strawberry.input(description="Conditions on an issue's workflow state; all given must hold.")
class WorkflowStateFilter:
    id: IDComparator | None = _operator("The state itself.")
    type: WorkflowStateTypeComparator | None = _operator(
        "The state's type (BACKLOG, STARTED, ...)."
    )
    name: StringComparator | None = _operator("The state's name.")


@strawberry.input(description="Conditions on an issue's assignee or creator; all given must hold.")
class NullableUserFilter:
    id: IDComparator | None = _operator("The user.")
    is_me: bool | None = _operator(
        "true: the user is you; false: anyone else, or nobody. Anonymous requests have no "
        "`me`: true matches nothing."
    )
    null: bool | None = _operator("true: there is no such user (unassigned); false: there is.")


@strawberry.input(description="Conditions on an issue's project.")
class ProjectFilter:
    id: IDComparator | None = _operator("The project.")


@strawberry.input(
    description="Conditions on the issue an issue is a sub-issue of; all given must hold."
)
class ParentIssueFilter:
    id: IDComparator | None = _operator("The parent issue.")
    null: bool | None = _operator("true: a top-level issue (no parent); false: a sub-issue.")


@strawberry.input(description="Conditions on one label; all given must hold.")
class LabelFilter:
    id: IDComparator | None = _operator("The label.")
    name: StringComparator | None = _operator("The label's name.")


@strawberry.input(
    description="Conditions on the set of an issue's labels; all given must hold. An empty "
    "`LabelFilter` matches any label: `{some: {}}` means labelled, `{none: {}}` unlabelled."
)
class LabelCollectionFilter:
    some: LabelFilter | None = _operator("At least one label matches.")
    none: LabelFilter | None = _operator("No label matches.")
    every: LabelFilter | None = _operator("Every label matches (true of an issue without labels).")


@strawberry.input(
    description="Narrows a list of issues; all given conditions must hold. Archived issues "
    "are left out unless `includeArchived` is true or the filter compares `archivedAt`. "
    f"`and`/`or`/`not` nest at most {MAX_FILTER_DEPTH} levels deep, and a filter holds at "
    f"most {MAX_FILTER_CONDITIONS} conditions (each operator, label quantifier and nested "
    "filter counts one)."
)
class IssueFilter:
    id: IDComparator | None = _operator("The issue itself.")
    number: NumberComparator | None = _operator("The number within its project (42 of ENG-42).")
    title: StringComparator | None = _operator("The title.")
    priority: PriorityComparator | None = _operator("The priority.")
    estimate: NullableNumberComparator | None = _operator("The estimate, in points.")
    due_date: NullableDateComparator | None = _operator("The due date.")
    created_at: DateTimeComparator | None = _operator("When the issue was created.")
    updated_at: DateTimeComparator | None = _operator("When the issue last changed.")
    archived_at: NullableDateTimeComparator | None = _operator(
        "When the issue was archived (null: not archived). Comparing it includes archived "
        "issues: `{archivedAt: {null: false}}` lists only those."
    )
    state: WorkflowStateFilter | None = _operator("The workflow state.")
    assignee: NullableUserFilter | None = _operator(
        "Who it is assigned to: `{isMe: true}` for your issues, `{null: true}` for unassigned."
    )
    creator: NullableUserFilter | None = _operator(
        "Who created it (null once that user is deleted)."
    )
    project: ProjectFilter | None = _operator("The project.")
    parent: ParentIssueFilter | None = _operator("The issue this one is a sub-issue of.")
    labels: LabelCollectionFilter | None = _operator("The labels.")
    include_archived: bool = strawberry.field(
        default=False,
        description="Include archived issues (left out by default). Only on the outermost filter.",
    )
    and_: list[IssueFilter] | None = _operator(
        "Every one of these filters holds (an empty list: always).", name="and"
    )
    or_: list[IssueFilter] | None = _operator(
        "At least one of these filters holds (an empty list: never).", name="or"
    )
    not_: IssueFilter | None = _operator("This filter does not hold.", name="not")


@strawberry.input(description="One key to order issues by.")
class IssueOrder:
    field: IssueOrderField = strawberry.field(description="What to order by.")
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC,
        description="Ascending (the default) or descending. Unset values (a due date, an "
        "estimate) come last either way.",
    )


# (Python attribute, operator) of every comparator input, in the order conditions are built.
_OPERATORS: tuple[tuple[str, spec.Operator], ...] = (
    ("eq", "eq"),
    ("neq", "neq"),
    ("in_", "in"),
    ("nin", "nin"),
    ("lt", "lt"),
    ("gt", "gt"),
    ("lte", "lte"),
    ("gte", "gte"),
    ("null", "null"),
    ("eq_ignore_case", "eqIgnoreCase"),
    ("contains", "contains"),
    ("contains_ignore_case", "containsIgnoreCase"),
    ("starts_with", "startsWith"),
)
_LABEL_QUANTIFIERS = ("some", "none", "every")


def _beyond(limit: int, message: str) -> BadUserInputError:
    return BadUserInputError(message, argument=FILTER_ARGUMENT, limit=limit)


def _too_deep() -> BadUserInputError:
    return _beyond(
        MAX_FILTER_DEPTH,
        f"The issue filter nests `and`/`or`/`not` more than {MAX_FILTER_DEPTH} levels deep.",
    )


def _too_many_conditions() -> BadUserInputError:
    return _beyond(
        MAX_FILTER_CONDITIONS,
        f"The issue filter holds more than {MAX_FILTER_CONDITIONS} conditions.",
    )


def _too_many_values(operator: str) -> BadUserInputError:
    return _beyond(MAX_FILTER_VALUES, f"`{operator}` takes at most {MAX_FILTER_VALUES} values.")


def _too_many_ids() -> BadUserInputError:
    return _beyond(MAX_FILTER_VALUES, f"`in` and `nin` take at most {MAX_FILTER_VALUES} IDs.")


def _text(value: str) -> str:
    problem = unstorable_text(value)
    if problem is not None:
        raise BadUserInputError(f"A filter's text {problem}.", argument=FILTER_ARGUMENT)
    return value


def _utc(value: datetime) -> datetime:
    """A time without an offset is UTC, whatever the server process's time zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _as_is(value: Any) -> Any:
    return value


class _ConditionCount:
    """Counts a filter's conditions against `MAX_FILTER_CONDITIONS`."""

    def __init__(self) -> None:
        self._conditions = 0

    def _count(self, how_many: int = 1) -> None:
        self._conditions += how_many
        if self._conditions > MAX_FILTER_CONDITIONS:
            raise _too_many_conditions()


class _FilterBuilder(_ConditionCount):
    """Turns one `IssueFilter` input into conditions, counting them against the limits."""

    def compare(
        self, field: str, comparator: Any, convert: Callable[[Any], Any] = _as_is
    ) -> list[spec.Condition]:
        """One condition per operator given in `comparator` (all of them must hold)."""
        if comparator is None:
            return []
        conditions: list[spec.Condition] = []
        for attribute, operator in _OPERATORS:
            value = getattr(comparator, attribute, None)
            if value is None:
                continue
            self._count()
            if operator in ("in", "nin"):
                if len(value) > MAX_FILTER_VALUES:
                    raise _too_many_values(operator)
                value = tuple(dict.fromkeys(convert(item) for item in value))
            elif operator != "null":
                value = convert(value)
            conditions.append(spec.Comparison(field, operator, value))
        return conditions

    def compare_ids(self, field: str, comparator: IDComparator | None, type_name: str) -> Any:
        """ID comparisons, always as `in`/`nin` of primary keys: an ID of another type is then
        one fewer key, and the statement's shape does not depend on which IDs were valid."""
        if comparator is None:
            return []

        def keys(ids: list[strawberry.ID]) -> tuple[int, ...]:
            if len(ids) > MAX_FILTER_VALUES:
                raise _too_many_ids()
            found = []
            for global_id in ids:
                decoded = from_global_id(global_id)
                if decoded is None:
                    raise BadUserInputError(
                        f"`{global_id}` is not an ID.", argument=FILTER_ARGUMENT
                    )
                if decoded[0] == type_name:
                    found.append(decoded[1])
            return tuple(sorted(set(found)))

        conditions: list[spec.Condition] = []
        for operator, wanted in (
            ("in", None if comparator.eq is None else [comparator.eq]),
            ("nin", None if comparator.neq is None else [comparator.neq]),
            ("in", comparator.in_),
            ("nin", comparator.nin),
        ):
            if wanted is not None:
                self._count()
                conditions.append(spec.Comparison(field, operator, keys(wanted)))
        return conditions

    def user(self, field: str, user: NullableUserFilter | None) -> list[spec.Condition]:
        if user is None:
            return []
        conditions = self.compare_ids(field, user.id, "User")
        if user.is_me is not None:
            self._count()
            me = spec.Comparison(field, "me")
            conditions.append(me if user.is_me else spec.Not(me))
        if user.null is not None:
            self._count()
            conditions.append(spec.Comparison(field, "null", user.null))
        return conditions

    def labels(self, collection: LabelCollectionFilter | None) -> list[spec.Condition]:
        if collection is None:
            return []
        conditions: list[spec.Condition] = []
        for quantifier in _LABEL_QUANTIFIERS:
            label: LabelFilter | None = getattr(collection, quantifier)
            if label is None:
                continue
            self._count()
            matches = [
                *self.compare_ids("id", label.id, "Label"),
                *self.compare("name", label.name, _text),
            ]
            conditions.append(spec.LabelsMatch(quantifier, _all(matches)))  # type: ignore[arg-type]
        return conditions

    def state(self, state: WorkflowStateFilter | None) -> list[spec.Condition]:
        if state is None:
            return []
        of_state = [
            *self.compare("type", state.type),
            *self.compare("name", state.name, _text),
        ]
        return [
            *self.compare_ids("state_id", state.id, "WorkflowState"),
            *([spec.StateMatches(_all(of_state))] if of_state else []),
        ]

    def issue(self, issue_filter: IssueFilter, depth: int = 1) -> list[spec.Condition]:
        if depth > MAX_FILTER_DEPTH:
            raise _too_deep()
        if depth > 1 and issue_filter.include_archived:
            raise BadUserInputError(
                "`includeArchived` applies to the whole list: give it on the outermost filter.",
                argument=FILTER_ARGUMENT,
            )
        f = issue_filter
        conditions = [
            *self.compare_ids("id", f.id, "Issue"),
            *self.compare("number", f.number),
            *self.compare("title", f.title, _text),
            *self.compare("priority", f.priority),
            *self.compare("estimate", f.estimate),
            *self.compare("due_date", f.due_date),
            *self.compare("created_at", f.created_at, _utc),
            *self.compare("updated_at", f.updated_at, _utc),
            *self.compare("archived_at", f.archived_at, _utc),
            *self.state(f.state),
            *self.user("assignee_id", f.assignee),
            *self.user("creator_id", f.creator),
            *self.compare_ids("project_id", f.project.id if f.project else None, "Project"),
            *self.compare_ids("parent_id", f.parent.id if f.parent else None, "Issue"),
            *self.labels(f.labels),
        ]
        if f.parent is not None and f.parent.null is not None:
            self._count()
            conditions.append(spec.Comparison("parent_id", "null", f.parent.null))
        if f.and_ is not None:
            conditions.append(spec.AllOf(tuple(self._nested(f.and_, depth))))
        if f.or_ is not None:
            conditions.append(spec.AnyOf(tuple(self._nested(f.or_, depth))))
        if f.not_ is not None:
            conditions.append(spec.Not(self._nested([f.not_], depth)[0]))
        return conditions

    def _nested(self, filters: list[IssueFilter], depth: int) -> list[spec.Condition]:
        self._count(len(filters))
        return [_all(self.issue(nested, depth + 1)) for nested in filters]


def _all(conditions: list[spec.Condition]) -> spec.Condition:
    return conditions[0] if len(conditions) == 1 else spec.AllOf(tuple(conditions))


def filter_spec(issue_filter: IssueFilter | None) -> spec.IssueFilter:
    """The SQL-side filter of an `IssueFilter` input (None: archived issues left out).

    Raises BadUserInputError for an undecodable ID, a NUL in a text, or a filter beyond the
    limits (`MAX_FILTER_DEPTH`, `MAX_FILTER_CONDITIONS`, `MAX_FILTER_VALUES`).
    """
    if issue_filter is None:
        return spec.NO_FILTER
    conditions = _FilterBuilder().issue(issue_filter)
    return spec.IssueFilter(
        _all(conditions) if conditions else None,
        include_archived=issue_filter.include_archived,
    )


_LOGICAL_LISTS = ("and", "or")
_GIVEN = (str, int, float, bool, list, dict)
"""JSON values: anything else (a variable the request left out) is no condition."""
FILTER_OBJECT_FIELDS = frozenset(
    {
        *("id", "number", "title", "priority", "estimate", "dueDate"),
        *("createdAt", "updatedAt", "archivedAt", "type", "name"),
        *("state", "assignee", "creator", "project", "parent", "labels"),
    }
)
"""The fields of the filter inputs that hold an object of conditions (a comparator, a
relation's filter) and count none themselves; the label quantifiers count one, and every other
field given is one operator (or an unknown field, which validation refuses anyway)."""


def check_filter_limits(value: object) -> None:
    """Refuses, by counting alone, a filter that `filter_spec` would refuse for its depth, its
    conditions or its values: the filter as the request gave it (JSON values under GraphQL
    names, from its variables or its literal), before it is coerced into input objects, which
    costs time in proportion to its size.

    It counts what `filter_spec` counts, so it never refuses a filter `filter_spec` accepts,
    and stops at the first limit passed: its work is bounded by the limits, not by the input.
    What it cannot read (a value of the wrong type) is left to validation.

    >>> check_filter_limits({"or": [{"priority": {"eq": "HIGH"}}] * 2})
    >>> check_filter_limits({"or": [{}] * 3_000})
    Traceback (most recent call last):
    core.errors.BadUserInputError: The issue filter holds more than 50 conditions.
    """
    _FilterCount().issue(value, depth=1)


class _FilterCount(_ConditionCount):
    """`_FilterBuilder`'s count, over plain values."""

    SUB_FILTER_LEVELS = 3
    """How many objects may nest below one filter level (`labels: {some: {name: {eq: ..}}}`)."""

    def issue(self, value: object, depth: int) -> None:
        if depth > MAX_FILTER_DEPTH:
            raise _too_deep()
        if not isinstance(value, dict):
            return
        for name, item in value.items():
            if not isinstance(item, _GIVEN) or name == "includeArchived":
                continue
            if name in _LOGICAL_LISTS:
                nested = item if isinstance(item, list) else [item]
                self._count(len(nested))
                for each in nested:
                    self.issue(each, depth + 1)
            elif name == "not":
                self._count()
                self.issue(item, depth + 1)
            else:
                self.condition(name, item, self.SUB_FILTER_LEVELS)

    def condition(self, name: str, value: object, levels: int) -> None:
        """`value` given under `name` below a filter level: an object of conditions (a
        comparator, a relation's filter, a label quantifier's), or one operator's value."""
        holds_conditions = name in FILTER_OBJECT_FIELDS or name in _LABEL_QUANTIFIERS
        if not holds_conditions or name in _LABEL_QUANTIFIERS:
            self._count()
        if holds_conditions and isinstance(value, dict) and levels > 0:
            for inner, item in value.items():
                if isinstance(item, _GIVEN):
                    self.condition_of(name, inner, item, levels - 1)

    def condition_of(self, owner: str, name: str, value: object, levels: int) -> None:
        if isinstance(value, list) and name in ("in", "nin") and len(value) > MAX_FILTER_VALUES:
            raise _too_many_ids() if owner == "id" else _too_many_values(name)
        self.condition(name, value, levels)


async def issue_connections(
    context: Context,
    relation: str,
    name: str,
    parent_ids: Sequence[int],
    *,
    filter: IssueFilter | None,
    order_by: list[IssueOrder] | None,
    joins: Collection[Any] = (),
    **page: Unpack[PageArguments],
) -> list[Connection[Issue]]:
    """One page of each parent's issues (`relation` names the `Loaders` attribute, `name` the
    field; `joins` as `connections_of` takes them)."""
    from schema.issues import Issue

    ordering = orderings.issue_ordering([(o.field, o.direction) for o in order_by or ()])
    return await connections_of(
        parent_ids,
        getattr(context.loaders, relation),
        name,
        ordering,
        Issue.from_row,
        filter=filter_spec(filter),
        joins=joins,
        **page,
    )


def issue_lists(relation: str, name: str) -> Callable[..., Awaitable[list[Any]]]:
    """The batch resolver of each parent's filtered, ordered issues: `relation` names the
    `Loaders` attribute, `name` the field (for messages)."""

    async def issues(
        parents: Sequence[Any],
        context: Context,
        filter: IssueFilter | None = None,
        order_by: list[IssueOrder] | None = None,
        joins: Collection[Any] = (),
        **page: Unpack[PageArguments],
    ) -> list[Any]:
        return await issue_connections(
            context,
            relation,
            name,
            [parent.pk for parent in parents],
            filter=filter,
            order_by=order_by,
            joins=joins,
            **page,
        )

    return issues
