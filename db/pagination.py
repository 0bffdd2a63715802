"""Keyset pagination in SQL: pages of a list, and pages of many parents' lists in one statement.

A cursor is the opaque encoding of the sort-key values of a row (its last key is always the
primary key), so pages stay stable while rows are inserted before them, and `after`/`before`
become index range conditions rather than OFFSETs. A nullable key sorts its nulls last in either
direction; a cursor may then hold a null, and which of its values are null is part of the
statement's shape, so each condition stays exact (and sargable) without `IS NOT DISTINCT FROM`.

Nested connections (the top 5 comments of each of 50 issues) are fetched for all parents at once:
`unnest($parents)` joined LATERAL to each parent's page (`ORDER BY keys LIMIT n`), one statement
per batch, no per-parent query, and no parent's whole list read or sliced in Python.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    BigInteger,
    and_,
    any_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY

from db.sqlalchemy_internals import LRUCache

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Sequence

    from sqlalchemy import ColumnElement, Row, Select

    from db.session import RequestDatabase


class InvalidCursorError(ValueError):
    """A cursor that this connection did not produce."""


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ordering column; `label` is the name it carries in the selected row.

    A `nullable` key puts its nulls last whichever the direction (what people expect of "due
    date, soonest first" and of "latest first" alike).
    """

    label: str
    column: ColumnElement[Any]
    python_type: type
    descending: bool = False
    nullable: bool = False


Ordering = tuple[SortKey, ...]


@dataclass(frozen=True, slots=True)
class PageArgs:
    """Validated pagination arguments: how many rows, which way, from which cursor values."""

    limit: int
    forward: bool = True
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[Row[Any]]
    has_next_page: bool
    has_previous_page: bool
    total: int | None = None
    """The size of the whole list, when it was counted in the same statement."""


def _fingerprint(ordering: Ordering) -> str:
    """Names the ordering inside each cursor, so a cursor of another list or order is refused."""
    return ",".join(key.label + ("-" if key.descending else "+") for key in ordering)


def encode_cursor(row: Any, ordering: Ordering) -> str:
    """The cursor of `row` (a row, or anything holding the ordering's labels as attributes)."""
    values = [_fingerprint(ordering), *(_jsonable(getattr(row, key.label)) for key in ordering)]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, ordering: Ordering) -> tuple[Any, ...]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidCursorError(cursor) from error
    if (
        not isinstance(decoded, list)
        or len(decoded) != len(ordering) + 1
        or decoded[0] != _fingerprint(ordering)
    ):
        raise InvalidCursorError(cursor)
    try:
        return tuple(_parse(value, key) for value, key in zip(decoded[1:], ordering, strict=True))
    except (TypeError, ValueError) as error:
        raise InvalidCursorError(cursor) from error


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _parse(value: Any, key: SortKey) -> Any:
    if value is None:
        if not key.nullable:
            raise ValueError(value)
        return None
    python_type = key.python_type
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(value)
        # Out of the column's range, PostgreSQL would refuse the parameter: not a cursor of ours.
        bits = 63 if isinstance(key.column.type, BigInteger) else 31
        if not -(2**bits) <= value < 2**bits:
            raise ValueError(value)
        return value
    if python_type is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(value)
        if not math.isfinite(value):
            raise ValueError(value)
        return float(value)
    if python_type is str:
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    return python_type(value)


def among(column: ColumnElement[Any], ids: Sequence[int]) -> ColumnElement[bool]:
    """`column = ANY($1)`: one bound array, so the statement text (and asyncpg's prepared
    statement) is the same for any number of ids, unlike an expanding `IN (...)`."""
    return column == any_(literal(list(ids), ARRAY(BigInteger)))


def _beyond(ordering: Ordering, nulls: tuple[bool, ...], *, after: bool) -> ColumnElement[bool]:
    """Rows strictly after (or before) the cursor in `ordering`, for any mix of directions.

    The cursor's values are the parameters `after_0`, `after_1`, ... (or `before_*`); `nulls`
    tells which of them are null (those have no parameter). Nulls sort last on every nullable
    key, so past a null there is nothing on that key, and before it every non-null value.
    """
    prefix = "after" if after else "before"
    values = [
        bindparam(f"{prefix}_{index}", type_=key.column.type) for index, key in enumerate(ordering)
    ]
    if len(set(key.descending for key in ordering)) == 1 and not any(
        key.nullable for key in ordering
    ):
        # One direction, no nulls: a row comparison, which PostgreSQL turns into an index range
        # (`(created_at, id) < ($1, $2)`) instead of a filter over the list's start.
        columns, cursor = tuple_(*(k.column for k in ordering)), tuple_(*values)
        return columns < cursor if ordering[0].descending == after else columns > cursor
    alternatives = []
    equal_prefix: list[ColumnElement[bool]] = []
    for key, value, is_null in zip(ordering, values, nulls, strict=True):
        greater = key.descending != after  # rows beyond the cursor hold greater values
        if not key.nullable:
            alternatives.append(
                and_(*equal_prefix, key.column > value if greater else key.column < value)
            )
            equal_prefix.append(key.column == value)
        elif is_null:
            if not after:
                alternatives.append(and_(*equal_prefix, key.column.is_not(None)))
            equal_prefix.append(key.column.is_(None))
        else:
            beyond = key.column > value if greater else key.column < value
            alternatives.append(
                and_(*equal_prefix, or_(beyond, key.column.is_(None)) if after else beyond)
            )
            equal_prefix.append(key.column == value)
    if not ordering[0].nullable:
        # A bound on the first key alone, implied by the alternatives: the index range to scan.
        first = ordering[0]
        greater = first.descending != after
        alternatives = [
            and_(
                first.column >= values[0] if greater else first.column <= values[0],
                or_(*alternatives),
            )
        ]
    return or_(*alternatives) if alternatives else false()


def _order_by(ordering: Ordering, *, forward: bool) -> list[ColumnElement[Any]]:
    """ORDER BY for `ordering`, or its exact reverse (nulls first then) to page backwards."""
    clauses: list[ColumnElement[Any]] = []
    for key in ordering:
        clause = key.column.desc() if key.descending == forward else key.column.asc()
        if key.nullable:
            clause = clause.nulls_last() if forward else clause.nulls_first()
        clauses.append(clause)
    return clauses


def _nulls(values: tuple[Any, ...] | None) -> tuple[bool, ...] | None:
    return None if values is None else tuple(value is None for value in values)


def _windowed(query: Select[Any], ordering: Ordering, args: PageArgs) -> Select[Any]:
    if args.after is not None:
        query = query.where(_beyond(ordering, _nulls(args.after) or (), after=True))
    if args.before is not None:
        query = query.where(_beyond(ordering, _nulls(args.before) or (), after=False))
    return query


def _page_params(args: PageArgs) -> dict[str, Any]:
    params: dict[str, Any] = {"page_size": args.limit + 1}
    for prefix, values in (("after", args.after), ("before", args.before)):
        for index, value in enumerate(values or ()):
            if value is not None:
                params[f"{prefix}_{index}"] = value
    return params


def _page(rows: Sequence[Row[Any]], args: PageArgs, *, counted: bool = False) -> Page:
    total = (rows[0].batch_total if rows else 0) if counted else None
    has_more = len(rows) > args.limit
    rows = rows[: args.limit]
    if args.forward:
        return Page(
            rows, has_next_page=has_more, has_previous_page=args.after is not None, total=total
        )
    return Page(
        rows[::-1], has_next_page=args.before is not None, has_previous_page=has_more, total=total
    )


# Statements built once per shape (list, ordering, direction, cursors, filter shape), never per
# value: values are always bind parameters, so each shape is also one prepared statement. Filter
# shapes come from client documents (and/or trees), so the cache is bounded, least recently used
# out; a statement dropped here is only rebuilt, at the cost of building it.
StatementType = TypeVar("StatementType")
SHAPED_STATEMENTS = 2000
_SHAPED: LRUCache[Hashable, Any] = LRUCache(SHAPED_STATEMENTS)


def shaped(key: Hashable, build: Callable[[], StatementType]) -> StatementType:
    """The statement of shape `key`, built once (by `build`) while it stays in the cache."""
    statement: StatementType | None = _SHAPED.get(key)
    if statement is None:
        statement = _SHAPED[key] = build()
    return statement


def _shape(args: PageArgs) -> Hashable:
    return (args.forward, _nulls(args.after), _nulls(args.before))


async def fetch_pages_per_parent(
    db: RequestDatabase,
    shape: Hashable,
    query: Callable[[], Select[Any]],
    parent: ColumnElement[Any],
    parent_ids: Sequence[Any],
    ordering: Ordering,
    args: PageArgs,
    params: dict[str, Any],
    *,
    with_totals: bool = False,
) -> dict[Any, Page]:
    """The same page of every parent's list, in one statement.

    `query()` builds the list's SELECT (labelled `batch_parent` and every sort key, its values
    as parameters), once per `shape`; `params` are its values. `with_totals` also counts each
    whole list (`Page.total`) in the same statement: for short lists only, as the count reads
    every row of the list, and only without cursors, which would narrow what is counted.
    """
    counted = with_totals and args.after is None and args.before is None
    params = {**params, **_page_params(args), "batch_parents": list(parent_ids)}
    if len(parent_ids) == 1:
        # Equality, not `= ANY`: the planner can then walk an index in the list's order.
        params["batch_parent"] = parent_ids[0]

        def single() -> Select[Any]:
            one_parent = parent == bindparam("batch_parent", type_=parent.type)
            filtered = _windowed(query().where(one_parent), ordering, args)
            if counted:
                filtered = filtered.add_columns(func.count().over().label("batch_total"))
            return filtered.order_by(*_order_by(ordering, forward=args.forward)).limit(
                bindparam("page_size")
            )

        statement = shaped(("page", shape, ordering, _shape(args), counted), single)
        rows = await db.fetch_all(statement, params)
        return {parent_ids[0]: _page(rows, args, counted=counted)}

    def ranked() -> Select[Any]:
        # One LATERAL page per parent: each walks the parent's index in the list's order and
        # stops after a page, where ranking every row of every parent would read them all (a
        # board's columns are whole thousands of issues each).
        parents = select(func.unnest(_BATCH_PARENTS).label("id")).subquery("batch_parents")
        order = _order_by(ordering, forward=args.forward)
        inner = _windowed(query().where(parent == parents.c.id), ordering, args)
        if counted:
            inner = inner.add_columns(func.count().over().label("batch_total"))
        page = (
            inner.add_columns(func.row_number().over(order_by=order).label("page_rank"))
            .order_by(*order)
            .limit(bindparam("page_size"))
            .lateral("page")
        )
        return (
            select(page)
            .select_from(parents.join(page, true()))
            .order_by(page.c.batch_parent, page.c.page_rank)
        )

    statement = shaped(("pages", shape, ordering, _shape(args), counted), ranked)
    grouped: dict[Any, list[Row[Any]]] = defaultdict(list)
    for row in await db.fetch_all(statement, params):
        grouped[row.batch_parent].append(row)
    return {
        parent_id: _page(grouped.get(parent_id, []), args, counted=counted)
        for parent_id in parent_ids
    }


async def count_per_parent(
    db: RequestDatabase,
    shape: Hashable,
    query: Callable[[], Select[Any]],
    parent: ColumnElement[Any],
    parent_ids: Sequence[Any],
    params: dict[str, Any],
    *,
    total: ColumnElement[Any] | None = None,
) -> dict[Any, int]:
    """`count(*)` of every parent's list in one statement; `query()` selects FROM the list.
    `total` is another aggregate to take instead (a sum of counters, `db.issue_counts`)."""

    def counted() -> Select[Any]:
        return (
            query()
            .with_only_columns(
                parent.label("batch_parent"),
                (func.count() if total is None else total).label("total"),
                maintain_column_froms=True,
            )
            .where(parent == any_(_BATCH_PARENTS))
            .group_by(parent)
        )

    statement = shaped(("count", shape), counted)
    rows = await db.fetch_all(statement, {**params, "batch_parents": list(parent_ids)})
    totals = {row.batch_parent: row.total for row in rows}
    return {parent_id: totals.get(parent_id, 0) for parent_id in parent_ids}


_BATCH_PARENTS = bindparam("batch_parents", type_=ARRAY(BigInteger))
BATCH_PARENTS = _BATCH_PARENTS
"""The parents of the batch (`batch_parents`), bound by every statement of
`fetch_pages_per_parent` and `count_per_parent`: a list's query may narrow its own subqueries
with it (search ranks only the matches of the workspaces asked for)."""
