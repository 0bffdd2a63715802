"""The Relay `Node` interface, and how any `Node` is fetched by its type's name (global IDs
themselves are `core.ids`)."""

from __future__ import annotations

import dataclasses
from functools import cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Self

import strawberry
from strawberry.types.base import get_object_definition

from core.ids import to_global_id

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from aiodataloader import DataLoader

    from db.loaders import Loaders
    from resolvers.context import Context


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global ID.")
    pk: strawberry.Private[int]
    """The primary key of its row: the key in its global ID."""

    loader_name: ClassVar[str]
    """The `Loaders` attribute that reads this type's rows by primary key."""

    @classmethod
    def loader(cls, loaders: Loaders) -> DataLoader[int, Any]:
        """This type's rows by primary key, as far as the viewer may read them."""
        loader: DataLoader[int, Any] = getattr(loaders, cls.loader_name)
        return loader

    @classmethod
    def from_row(cls, row: Any, **computed: Any) -> Self:
        """The object of one row of this type's table: its global `id` and its `pk` from the
        row's `id`, the fields that are no column as `computed` gives them (a type that has
        some passes the same names on every call), every other field from the row's column of
        the same name."""
        shape = _ROW_SHAPES.get(cls) or _row_shape(cls, computed)
        # Every object of every list is made here, so without the dataclass `__init__`: it
        # would set the same attributes (every field is given), a fifth slower for an Issue.
        node = object.__new__(cls)
        fields = node.__dict__
        fields.update(zip(shape.columns, shape.read(row), strict=False))  # as many as columns
        fields["id"] = to_global_id(shape.type_name, row.id)
        fields["pk"] = row.id
        if computed:
            fields.update(computed)
        return node

    @classmethod
    async def resolve_nodes(cls, context: Context, pks: Sequence[int]) -> list[Node | None]:
        """The objects of these keys, null where the viewer may not read one (or it does not
        exist: the same answer); one batch for all of them."""
        rows = await cls.loader(context.loaders).load_many(list(pks))
        return [None if row is None else cls.from_row(row) for row in rows]


class _RowShape(NamedTuple):
    type_name: str
    columns: tuple[str, ...]
    read: Callable[[Any], tuple[Any, ...]]


_ROW_SHAPES: dict[type[Node], _RowShape] = {}
"""Each `Node` type's `_RowShape`, made on its first `from_row`."""


def _row_shape(cls: type[Node], computed: Iterable[str]) -> _RowShape:
    fields = dataclasses.fields(cls)
    columns = tuple(f.name for f in fields if f.init and f.name not in {"id", "pk", *computed})
    # Reads a tuple, even of one column.
    read = attrgetter(*columns) if len(columns) > 1 else lambda row: (getattr(row, columns[0]),)
    shape = _ROW_SHAPES[cls] = _RowShape(
        get_object_definition(cls, strict=True).name, columns, read
    )
    return shape


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
