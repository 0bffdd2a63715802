"""The Relay `Node` interface, and how any `Node` is fetched by its type's name (global IDs
themselves are `core.ids`)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

import strawberry
from strawberry.types.base import get_object_definition

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aiodataloader import DataLoader

    from db.loaders import Loaders
    from resolvers.context import Context


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global ID.")

    loader_name: ClassVar[str]
    """The `Loaders` attribute that reads this type's rows by primary key."""

    @classmethod
    def loader(cls, loaders: Loaders) -> DataLoader[int, Any]:
        """This type's rows by primary key, as far as the viewer may read them."""
        loader: DataLoader[int, Any] = getattr(loaders, cls.loader_name)
        return loader

    @classmethod
    def from_row(cls, row: Any) -> Node:
        raise NotImplementedError(cls.__name__)

    @classmethod
    async def resolve_nodes(cls, context: Context, pks: Sequence[int]) -> list[Node | None]:
        """The objects of these keys, null where the viewer may not read one (or it does not
        exist: the same answer); one batch for all of them."""
        rows = await cls.loader(context.loaders).load_many(list(pks))
        return [None if row is None else cls.from_row(row) for row in rows]


def node_type(type_name: str) -> type[Node] | None:
    """The `Node` type the schema calls `type_name`. Every object type implementing `Node` is
    found, so a new one needs no registration."""
    return _node_types().get(type_name)


@cache
def _node_types() -> dict[str, type[Node]]:
    found: dict[str, type[Node]] = {}
    pending = list(Node.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        definition = get_object_definition(cls)
        if definition is not None and not definition.is_interface:
            found[definition.name] = cls
    return found
