"""Issue filters as SQL: a hashable condition tree, one statement per tree *shape*.

A filter is a tree of comparisons combined with `AllOf`, `AnyOf` and `Not`. Its `shape` is the
tree without its values, and `apply` turns a shape into WHERE conditions whose values are bind
parameters `filter_0`, `filter_1`, ... in the tree's order, filled in by `params()`. So two
filters that differ only in values share one SELECT (built once, see `db.pagination.shaped`) and
one prepared statement, and equal filters batch together in the loaders:

    >>> from core.enums import Priority
    >>> spec = IssueFilter(AllOf((Comparison("priority", "in", (Priority.URGENT,)),)))
    >>> spec.params()
    {'filter_0': [<Priority.URGENT: 'URGENT'>]}
    >>> query = spec.apply(queries.visible_issues())

Every condition is two-valued (never SQL NULL): a comparison on a nullable column is false for a
null value, so `Not` is the exact complement of what it negates (`neq` matches nulls too).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import and_, any_, bindparam, exists, false, func, not_, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from db import queries

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Mapping

    from sqlalchemy import ColumnElement, Select

issues = queries.issues
labels = queries.labels
issue_labels = queries.issue_labels
workflow_states = queries.workflow_states

Operator = Literal[
    "eq",
    "neq",
    "in",
    "nin",
    "lt",
    "gt",
    "lte",
    "gte",
    "null",
    "me",
    "eqIgnoreCase",
    "contains",
    "containsIgnoreCase",
    "startsWith",
]

# What a comparison's `field` may name, per subject: the issue itself, its workflow state (see
# `StateMatches`) or one of its labels (see `LabelsMatch`).
ISSUE_FIELDS: dict[str, ColumnElement[Any]] = {
    name: issues.c[name]
    for name in (
        "id",
        "number",
        "title",
        "priority",
        "estimate",
        "due_date",
        "created_at",
        "updated_at",
        "archived_at",
        "state_id",
        "assignee_id",
        "creator_id",
        "project_id",
        "parent_id",
    )
}
STATE_FIELDS: dict[str, ColumnElement[Any]] = {
    "type": workflow_states.c.type,
    "name": workflow_states.c.name,
}
LABEL_FIELDS: dict[str, ColumnElement[Any]] = {
    "id": issue_labels.c.label_id,
    "name": labels.c.name,
}

# Operators whose value is part of the shape (a boolean) or that have none: no parameter.
_UNBOUND = frozenset({"null", "me"})


@dataclass(frozen=True, slots=True)
class Comparison:
    """`field operator value`: `in`/`nin` take a tuple, `null` a boolean (true: is null), `me`
    nothing (the field equals the viewer, the `scope_viewer_id` parameter)."""

    field: str
    operator: Operator
    value: Any = None


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every condition holds (none given: always)."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one condition holds (none given: never)."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


@dataclass(frozen=True, slots=True)
class StateMatches:
    """The issue's workflow state satisfies `condition` (over `STATE_FIELDS`)."""

    condition: Condition


@dataclass(frozen=True, slots=True)
class LabelsMatch:
    """`some` / `none` / `every` label of the issue satisfies `condition` (over `LABEL_FIELDS`);
    an issue without labels has none, so `every` holds for it."""

    quantifier: Literal["some", "none", "every"]
    condition: Condition


Condition = Comparison | AllOf | AnyOf | Not | StateMatches | LabelsMatch


@dataclass(frozen=True, slots=True)
class FilterColumns:
    """Where `IssueFilter.apply` reads an issue's fields: `fields` by name, and for a column
    that stores "no value" otherwise than as NULL, its test of "no value" in `absent` (a table
    of counters keys "no assignee" as 0, and "archived" as a boolean)."""

    fields: Mapping[str, ColumnElement[Any]]
    absent: Mapping[ColumnElement[Any], ColumnElement[bool]]


ON_ISSUES = FilterColumns(ISSUE_FIELDS, {})
"""The issues' own columns."""


@dataclass(frozen=True, slots=True)
class IssueFilter:
    """A hashable issue filter, so equal filters from different fields batch together.

    Archived issues are left out unless `include_archived`, or unless the condition compares
    `archived_at` itself (asking for archived issues is asking to see them).
    """

    condition: Condition | None = None
    include_archived: bool = False

    @property
    def excludes_archived(self) -> bool:
        return not self.include_archived and not _mentions(self.condition, "archived_at")

    @property
    def columns(self) -> frozenset[str]:
        """The issue columns whose values it reads (`state_id` for a condition on the state,
        `labels` for one on the labels): a change to no other one can change whether an issue
        matches."""
        return frozenset(_columns(self.condition)) | (
            {"archived_at"} if self.excludes_archived else set()
        )

    @property
    def mentions_viewer(self) -> bool:
        """Whether it holds `isMe`: its result then depends on who asks (`scope_viewer_id`)."""
        return _mentions_viewer(self.condition)

    @property
    def shape(self) -> tuple[Any, ...]:
        """The tree without its values: filters of one shape share one statement."""
        return (self.excludes_archived, _shape(self.condition))

    def params(self) -> dict[str, Any]:
        """The values of `apply`'s parameters, `filter_<n>` in the tree's order."""
        return {
            f"filter_{index}": _bound_value(comparison)
            for index, comparison in enumerate(_bound_comparisons(self.condition))
        }

    def apply(self, query: Select[Any], on: FilterColumns = ON_ISSUES) -> Select[Any]:
        """The conditions of this filter's shape, with its values as `filter_*` parameters,
        on the issues' own columns or `on` others (see `FilterColumns`)."""
        compiler = _Compiler(on.absent)
        if self.excludes_archived:
            query = query.where(compiler.absent(on.fields["archived_at"]))
        if self.condition is not None:
            query = query.where(compiler.sql(self.condition, on.fields))
        return query

    def decided_by(self, fields: Collection[str], *, by_nullness: Collection[str] = ()) -> bool:
        """Whether whether an issue matches depends on nothing but the values of `fields` and
        on whether those of `by_nullness` are null: then every issue that agrees on those
        matches alike (what lets `db.issue_counts` count matches by summing its counters).

        Any operator on a field of `fields` qualifies (it reads that value alone), and so does a
        condition on the state's own fields when `state_id` is one of them; labels never do.
        """
        if self.excludes_archived and "archived_at" not in {*fields, *by_nullness}:
            return False
        return _decided_by(self.condition, frozenset(fields), frozenset(by_nullness))


def _decided_by(
    condition: Condition | None, fields: frozenset[str], by_nullness: frozenset[str]
) -> bool:
    if condition is None:
        return True
    if isinstance(condition, Comparison):
        return condition.field in fields or (
            condition.field in by_nullness and condition.operator == "null"
        )
    if isinstance(condition, StateMatches):
        return "state_id" in fields
    if isinstance(condition, LabelsMatch):
        return False
    return all(_decided_by(child, fields, by_nullness) for child in _children(condition))


def _children(condition: Condition) -> tuple[Condition, ...]:
    if isinstance(condition, AllOf | AnyOf):
        return condition.conditions
    if isinstance(condition, Not | StateMatches | LabelsMatch):
        return (condition.condition,)
    return ()


def _mentions(condition: Condition | None, field: str) -> bool:
    """Whether an issue comparison of the tree names `field` (labels' and states' do not)."""
    if condition is None or isinstance(condition, StateMatches | LabelsMatch):
        return False
    if isinstance(condition, Comparison):
        return condition.field == field
    return any(_mentions(child, field) for child in _children(condition))


def _columns(condition: Condition | None) -> Iterator[str]:
    if condition is None:
        return
    if isinstance(condition, Comparison):
        yield condition.field
    elif isinstance(condition, StateMatches):
        yield "state_id"
    elif isinstance(condition, LabelsMatch):
        yield "labels"
    else:
        for child in _children(condition):
            yield from _columns(child)


def _mentions_viewer(condition: Condition | None) -> bool:
    if condition is None:
        return False
    if isinstance(condition, Comparison):
        return condition.operator == "me"
    return any(_mentions_viewer(child) for child in _children(condition))


def _shape(condition: Condition | None) -> Any:
    if condition is None:
        return None
    if isinstance(condition, Comparison):
        value = condition.value if condition.operator == "null" else None
        return (condition.field, condition.operator, value)
    if isinstance(condition, LabelsMatch):
        return ("labels", condition.quantifier, _shape(condition.condition))
    return (type(condition).__name__, tuple(_shape(child) for child in _children(condition)))


def _bound_comparisons(condition: Condition | None) -> Iterator[Comparison]:
    """The comparisons that take a parameter, in the order `_Compiler` numbers them."""
    if condition is None:
        return
    if isinstance(condition, Comparison):
        if condition.operator not in _UNBOUND:
            yield condition
        return
    for child in _children(condition):
        yield from _bound_comparisons(child)


def like_pattern(text: str, *, prefix: bool) -> str:
    """A LIKE pattern matching `text` literally (`%`, `_` and `\\` escaped) inside a value, or
    at its start."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix else f"%{escaped}%"


def _bound_value(comparison: Comparison) -> Any:
    if comparison.operator in ("in", "nin"):
        return list(comparison.value)
    if comparison.operator in ("contains", "containsIgnoreCase"):
        return like_pattern(comparison.value, prefix=False)
    if comparison.operator == "startsWith":
        return like_pattern(comparison.value, prefix=True)
    return comparison.value


_BINARY: dict[str, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]] = {
    "eq": lambda column, value: column == value,
    "in": lambda column, value: column == any_(value),
    "lt": lambda column, value: column < value,
    "gt": lambda column, value: column > value,
    "lte": lambda column, value: column <= value,
    "gte": lambda column, value: column >= value,
    "eqIgnoreCase": lambda column, value: func.lower(column) == func.lower(value),
    "contains": lambda column, value: column.like(value),
    "containsIgnoreCase": lambda column, value: column.ilike(value),
    "startsWith": lambda column, value: column.like(value),
}
_NEGATED: dict[str, Operator] = {"neq": "eq", "nin": "in"}


class _Compiler:
    """SQL of one condition tree; numbers its parameters as `_bound_comparisons` lists them.
    `absent` is `FilterColumns.absent`."""

    def __init__(self, absent: Mapping[ColumnElement[Any], ColumnElement[bool]]) -> None:
        self._numbers = count()
        self._absent = absent

    def absent(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        """Whether `column` holds no value."""
        test = self._absent.get(column)
        return column.is_(None) if test is None else test

    def _present(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        test = self._absent.get(column)
        return column.is_not(None) if test is None else not_(test)

    def _may_be_absent(self, column: ColumnElement[Any]) -> bool:
        return column in self._absent or bool(column.nullable)

    def sql(self, condition: Condition, fields: Mapping[str, ColumnElement[Any]]) -> Any:
        if isinstance(condition, Comparison):
            return self._comparison(condition, fields)
        if isinstance(condition, AllOf):
            parts = [self.sql(child, fields) for child in condition.conditions]
            return and_(*parts) if parts else true()
        if isinstance(condition, AnyOf):
            parts = [self.sql(child, fields) for child in condition.conditions]
            return or_(*parts) if parts else false()
        if isinstance(condition, Not):
            return not_(self.sql(condition.condition, fields))
        if isinstance(condition, StateMatches):
            states = select(workflow_states.c.id).where(self.sql(condition.condition, STATE_FIELDS))
            return fields["state_id"].in_(states)
        return self._labels(condition)

    def _labels(self, condition: LabelsMatch) -> ColumnElement[bool]:
        matches = self.sql(condition.condition, LABEL_FIELDS)
        if condition.quantifier == "every":
            matches = not_(matches)
        attached = exists()
        if _mentions_label_columns(condition.condition):
            attached = attached.select_from(
                issue_labels.join(labels, labels.c.id == issue_labels.c.label_id)
            )
        found = attached.where(issue_labels.c.issue_id == issues.c.id, matches)
        return found if condition.quantifier == "some" else not_(found)

    def _comparison(
        self, comparison: Comparison, fields: Mapping[str, ColumnElement[Any]]
    ) -> ColumnElement[bool]:
        column = fields[comparison.field]
        operator = comparison.operator
        if operator == "null":
            return self.absent(column) if comparison.value else self._present(column)
        if operator in _NEGATED:
            return not_(self._comparison(Comparison(comparison.field, _NEGATED[operator]), fields))
        if operator == "me":
            # An anonymous viewer's id is NULL: "me" is then nobody.
            return and_(
                queries.SCOPE_VIEWER.is_not(None),
                self._present(column),
                column == queries.SCOPE_VIEWER,
            )
        name = f"filter_{next(self._numbers)}"
        value_type = ARRAY(column.type) if operator == "in" else column.type
        condition = _BINARY[operator](column, bindparam(name, type_=value_type))
        return and_(self._present(column), condition) if self._may_be_absent(column) else condition


def _mentions_label_columns(condition: Condition) -> bool:
    """Whether a label condition needs the `labels` table (not just `issue_labels.label_id`)."""
    if isinstance(condition, Comparison):
        return condition.field != "id"
    return any(_mentions_label_columns(child) for child in _children(condition))


# The filter of a list given no `filter:`: every issue but the archived ones.
NO_FILTER = IssueFilter()
