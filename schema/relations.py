"""Batch functions of relations: one loader call for all the parents at one query level.

Every relation field of the schema is made by `schema.relation_field.relation` from a batch
function (see `execution.batching`), itself built from these helpers: `nodes_at` (over
`related_nodes`) for a to-one link (an issue's assignee), `paged_lists` (over `connections_of`)
for a paged one-to-many list (an issue's comments).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from core.errors import NotFoundError
from db.loaders import NO_JOINS, CountKey, Join
from execution.batching import linked
from schema import refs
from schema.pagination import Connection, connection_from_page, page_args
from schema.relation_field import relation

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence

    from strawberry.types.lazy_type import LazyType

    from db.loaders import RelationLoader
    from db.pagination import Ordering
    from resolvers.context import Context
    from schema.relation_field import PageArguments

NodeType = TypeVar("NodeType")


async def related_nodes(
    load_many: Callable[[list[int]], Awaitable[list[Any]]],
    keys: Sequence[int | None],
    to_node: Callable[[Any], NodeType],
    *,
    missing: str | None = None,
) -> list[NodeType | Exception | None]:
    """The node each key points at, its row read by `load_many`; a null key is null, a row the
    viewer cannot see is null (or, for a required link, a NotFoundError with message
    `missing`)."""
    wanted = list(dict.fromkeys(key for key in keys if key is not None))
    rows = await load_many(wanted) if wanted else []
    return _nodes_of(keys, wanted, rows, to_node, missing)


def _nodes_of(
    keys: Sequence[int | None],
    wanted: list[int],
    rows: Sequence[Any],
    to_node: Callable[[Any], NodeType],
    missing: str | None,
) -> list[NodeType | Exception | None]:
    """`related_nodes`' answer, from the rows of the distinct keys `wanted`."""
    # One object per row: parents sharing an assignee share its (immutable) node.
    nodes = {key: to_node(row) for key, row in zip(wanted, rows, strict=True) if row is not None}
    results: list[NodeType | Exception | None] = []
    for key in keys:
        node = nodes.get(key) if key is not None else None
        if node is None and missing is not None:
            results.append(NotFoundError(missing))
        else:
            results.append(node)
    return results


async def connections_of(
    parent_ids: Sequence[int],
    relation: RelationLoader,
    name: str,
    ordering: Ordering,
    to_node: Callable[[Any], NodeType],
    *,
    filter: Hashable | None = None,
    joins: Collection[Any] = (),
    **page: Unpack[PageArguments],
) -> list[Connection[NodeType]]:
    """One page of `relation` per parent, with the same arguments for all of them. `joins` are
    the to-one links selected on the nodes (`execution.batching`): their rows are read by the
    page's statement, for the links' loaders (`db.loaders.prime_joined`)."""
    args = page_args(name, ordering, **page)
    pages = await relation.pages_of(parent_ids, ordering, args, filter, joins_of(joins))
    return [
        connection_from_page(page, ordering, to_node, relation.counts, CountKey(parent_id, filter))
        for parent_id, page in zip(parent_ids, pages, strict=True)
    ]


class Link:
    """A to-one link as a list's statement can read it: the parents' column `attribute` holds
    the key of an `of` node."""

    __slots__ = ("attribute", "of")

    def __init__(self, attribute: str, of: LazyType[Any, Any]) -> None:
        self.attribute = attribute
        self.of = of


def joins_of(links: Collection[Any]) -> frozenset[Join]:
    """The statement joins of the links selected on a list's nodes."""
    if not links:
        return NO_JOINS
    return frozenset(
        Join(link.attribute, resolved(link.of).loader_name)
        for link in links
        if isinstance(link, Link)
    )


_RESOLVED: dict[LazyType[Any, Any], Any] = {}


def resolved(of: LazyType[Any, Any]) -> Any:
    """The type a lazy reference names, resolved once: resolving one stats files each time."""
    cls = _RESOLVED.get(of)
    if cls is None:
        cls = _RESOLVED[of] = of.resolve_type()
    return cls


def nodes_at(
    of: LazyType[Any, Any], attribute: str, *, missing: str | None = None
) -> Callable[[Sequence[Any], Context], list[Any] | Awaitable[list[Any]]]:
    """The batch resolver of a to-one link: the `of` node whose key each parent holds in
    `attribute` (see `related_nodes` for `missing`). `of` is a lazy reference (`schema.refs`):
    the type modules import this one.

    Answered at once, not awaited, when every row was read already (with the parents' page:
    a list view's states, assignees, projects and comment authors): no coroutine, no task."""

    def nodes(parents: Sequence[Any], context: Context) -> list[Any] | Awaitable[list[Any]]:
        cls = resolved(of)
        keys = [getattr(parent, attribute) for parent in parents]
        wanted = list(dict.fromkeys(key for key in keys if key is not None))
        rows = context.loaders.rows_read(cls.loader_name, wanted)
        if rows is not None:
            return _nodes_of(keys, wanted, rows, cls.from_row, missing)
        return related_nodes(
            cls.loader(context.loaders).load_many, keys, cls.from_row, missing=missing
        )

    return linked(nodes, Link(attribute, of))


workspaces_of = nodes_at(refs.Workspace, "workspace_id", missing="Workspace not found.")
"""The workspace of each parent (anything with a `workspace_id`)."""


def workspace_relation(description: str = "The workspace it belongs to.") -> Any:
    """The `workspace` field of a type whose objects hold a `workspace_id`."""
    return relation(workspaces_of, refs.Workspace, description=description)


def paged_lists(
    relation: str, name: str, ordering: Ordering, of: LazyType[Any, Any]
) -> Callable[..., Awaitable[list[Any]]]:
    """The batch resolver of each parent's plainly paged list of `of` nodes: `relation` names
    the `Loaders` attribute, `name` the field."""

    async def pages(
        parents: Sequence[Any],
        context: Context,
        joins: Collection[Any] = (),
        **page: Unpack[PageArguments],
    ) -> list[Any]:
        return await connections_of(
            [parent.pk for parent in parents],
            getattr(context.loaders, relation),
            name,
            ordering,
            resolved(of).from_row,
            joins=joins,
            **page,
        )

    return pages
