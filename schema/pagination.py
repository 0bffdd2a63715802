"""Relay cursor connections: `edges { cursor node }`, `nodes`, `pageInfo` and `totalCount`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import strawberry

from db.loaders import CountKey, PageKey
from db.pagination import InvalidCursorError, PageArgs, decode_cursor, encode_cursor
from resolvers.errors import BadUserInputError

if TYPE_CHECKING:
    from collections.abc import Hashable

    from db.loaders import RelationLoader
    from db.pagination import Ordering, Page

NodeType = TypeVar("NodeType")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A node and the cursor to paginate from it.")
class Edge(Generic[NodeType]):
    cursor: str
    node: NodeType


@strawberry.type(description="A page of a list, with the means to fetch the next one.")
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    nodes: list[NodeType]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, across all pages.")
    async def total_count(self) -> int:
        return await self.count()


def page_args(
    connection: str,
    ordering: Ordering,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> PageArgs:
    """Validate a connection's arguments the way GitHub's API does, with the same limits."""
    if first is not None and last is not None:
        raise BadUserInputError(
            f"Passing both `first` and `last` to paginate the `{connection}` connection "
            "is not supported."
        )
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise BadUserInputError(
                f"`{name}` on the `{connection}` connection cannot be negative."
            )
        if value is not None and value > MAX_PAGE_SIZE:
            raise BadUserInputError(
                f"Requesting {value} records on the `{connection}` connection exceeds the "
                f"`{name}` limit of {MAX_PAGE_SIZE} records.",
                argument=name,
                limit=MAX_PAGE_SIZE,
            )
    try:
        after_values = decode_cursor(after, ordering) if after is not None else None
        before_values = decode_cursor(before, ordering) if before is not None else None
    except InvalidCursorError as error:
        raise BadUserInputError(
            f"`{error.args[0]}` is not a valid cursor for the `{connection}` connection."
        ) from error
    forward = last is None
    limit = (
        (first if forward else last)
        if (first if forward else last) is not None
        else (DEFAULT_PAGE_SIZE)
    )
    return PageArgs(limit=limit, forward=forward, after=after_values, before=before_values)


def connection_from_page(
    page: Page,
    ordering: Ordering,
    to_node: Callable[[Any], NodeType],
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeType]:
    cursors = [encode_cursor(row, ordering) for row in page.rows]
    nodes = [to_node(row) for row in page.rows]
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
        count=count,
    )


async def relation_connection(
    relation: RelationLoader,
    name: str,
    parent_id: int,
    ordering: Ordering,
    to_node: Callable[[Any], NodeType],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    filter: Hashable | None = None,
) -> Connection[NodeType]:
    """A connection over one parent's list, paged and counted through the relation's loaders."""
    args = page_args(name, ordering, first=first, after=after, last=last, before=before)
    page = await relation.pages.load(PageKey(parent_id, ordering, args, filter))

    def count() -> Awaitable[int]:
        return relation.counts.load(CountKey(parent_id, filter))

    return connection_from_page(page, ordering, to_node, count)
