"""Relay cursor connections: `edges { cursor node }`, `nodes`, `pageInfo` and `totalCount`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

import strawberry
from aiodataloader import DataLoader

from core.errors import BadUserInputError
from db.pagination import InvalidCursorError, Ordering, Page, PageArgs, decode_cursor, encode_cursor
from resolvers.context import Context
from schema.relation_field import relation

NodeType = TypeVar("NodeType")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


# Cursors are encoded only when a client asks for them: most list views never do.


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether items follow this page: fetch them with `after: endCursor`. "
        "When paging backwards (`last`), true if `before` was given."
    )
    has_previous_page: bool = strawberry.field(
        description="Whether items precede this page: fetch them with `before: startCursor`. "
        "When paging forwards, true if `after` was given."
    )
    first_row: strawberry.Private[Any]
    last_row: strawberry.Private[Any]
    ordering: strawberry.Private[Ordering]

    @strawberry.field(description="The cursor of the page's first item; null if it is empty.")
    def start_cursor(self) -> str | None:
        return None if self.first_row is None else encode_cursor(self.first_row, self.ordering)

    @strawberry.field(description="The cursor of the page's last item; null if it is empty.")
    def end_cursor(self) -> str | None:
        return None if self.last_row is None else encode_cursor(self.last_row, self.ordering)


@strawberry.type(description="A node and the cursor to paginate from it.")
class Edge(Generic[NodeType]):
    row: strawberry.Private[Any]
    ordering: strawberry.Private[Ordering]

    @strawberry.field(
        description="Where the item sits in the list: pass it as `after` or `before` to page "
        "from here (with the same arguments otherwise)."
    )
    def cursor(self) -> str:
        return encode_cursor(self.row, self.ordering)

    node: NodeType = strawberry.field(description="The item.")


def total_counts(
    connections: list[Connection[Any]], context: Context
) -> list[int] | Awaitable[list[int]]:
    # Pages of short lists are read with their list's count (`Page.total`), which is what
    # their count loader was primed with: taken as it is, without a future per connection.
    totals = [c.page.total for c in connections if c.page.total is not None]
    if len(totals) == len(connections):
        return totals
    return asyncio.gather(*(c.count_loader.load(c.count_key) for c in connections))


@strawberry.type(description="A page of a list, with the means to fetch the next one.")
class Connection(Generic[NodeType]):
    # Edges and page info are made only when a client asks for them: most list views read
    # `nodes` alone, and an edge per row was a tenth of a list view's time. (All three are
    # methods, as the schema lists a type's resolvers after its plain fields.)

    @strawberry.field(description="The page's items, each with its cursor.")
    def edges(self) -> list[Edge[NodeType]]:
        ordering = self.page_ordering
        return [
            Edge(row=row, ordering=ordering, node=node)
            for row, node in zip(self.page.rows, self.items, strict=True)
        ]

    @strawberry.field(
        description="The page's items, in the order of `edges`, for when no cursor is needed."
    )
    def nodes(self) -> list[NodeType]:
        return self.items

    @strawberry.field(
        description="Whether there are more items either side, and the cursors to fetch them."
    )
    def page_info(self) -> PageInfo:
        rows = self.page.rows
        return PageInfo(
            has_next_page=self.page.has_next_page,
            has_previous_page=self.page.has_previous_page,
            first_row=rows[0] if rows else None,
            last_row=rows[-1] if rows else None,
            ordering=self.page_ordering,
        )

    items: strawberry.Private[list[NodeType]]
    page: strawberry.Private[Page]
    page_ordering: strawberry.Private[Ordering]
    count_loader: strawberry.Private[DataLoader[Any, int]]
    count_key: strawberry.Private[Hashable]

    total_count = relation(
        total_counts, int, description="How many items the whole list holds, across all pages."
    )


def page_args(
    connection: str,
    ordering: Ordering,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
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
    count_loader: DataLoader[Any, int],
    count_key: Hashable,
) -> Connection[NodeType]:
    return Connection(
        items=[to_node(row) for row in page.rows],
        page=page,
        page_ordering=ordering,
        count_loader=count_loader,
        count_key=count_key,
    )
