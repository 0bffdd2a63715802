"""The Relay `Node` interface, and how any `Node` is fetched by its type's name (global IDs
themselves are `core.ids`)."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Self

import strawberry
from strawberry.types.base import get_object_definition

from core.ids import to_global_id
from db.loaders import NO_JOINS
from schema.names import snake_case

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from aiodataloader import DataLoader

    from auth.viewer import Viewer
    from db.loaders import Join, Loaders
    from resolvers.context import Context


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global ID.")
    pk: strawberry.Private[int]
    """The primary key of its row: the key in its global ID."""

    loader_name: ClassVar[str]
    """The `Loaders` attribute that reads this type's rows by primary key: `<type>_by_id`
    (`workflow_state_by_id`), set for each subclass by the loaders' naming rule unless the
    subclass names another."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "loader_name" not in cls.__dict__:
            cls.loader_name = f"{snake_case(cls.__name__)}_by_id"

    @classmethod
    def loader(cls, loaders: Loaders, joins: frozenset[Join] = NO_JOINS) -> DataLoader[int, Any]:
        """This type's rows by primary key, as far as the viewer may read them (read with the
        rows of `joins`, which their own loaders then hold)."""
        return loaders.by_id_with(cls.loader_name, joins)

    @classmethod
    def readable_in(cls, viewer: Viewer, workspace_id: int) -> bool:
        """Whether the viewer may read this type's objects of a workspace in their read scope:
        yes, unless a type's own policy says otherwise (a `PolicedNode`'s `read_policy`)."""
        return True

    @classmethod
    def from_row(cls, row: Any, **computed: Any) -> Self:
        """The object of one row of this type's table: its global `id` and its `pk` from the
        row's `id`, the fields that are no column as `computed` gives them (a type that has
        some passes the same names on every call), every other field from the row's column of
        the same name."""
        make = _ROW_MAKERS.get(cls) or _row_maker(cls, computed)
        node: Self = make(row, computed)
        return node

    @classmethod
    async def resolve_nodes(
        cls, context: Context, pks: Sequence[int], joins: frozenset[Join] = NO_JOINS
    ) -> list[Node | None]:
        """The objects of these keys, null where the viewer may not read one (or it does not
        exist: the same answer); one batch for all of them."""
        rows = await cls.loader(context.loaders, joins).load_many(list(pks))
        return [None if row is None else cls.from_row(row) for row in rows]


class PolicedNode(Node):
    """A `Node` type whose own policy narrows the read scope: invitations, webhooks. Its rows
    carry their `workspace_id`."""

    read_policy: ClassVar[Callable[[Viewer, int], bool]]
    """The `auth.policies` function saying whether a viewer may read the type's objects of a
    workspace."""

    @classmethod
    def readable_in(cls, viewer: Viewer, workspace_id: int) -> bool:
        return cls.read_policy(viewer, workspace_id)

    @classmethod
    async def resolve_nodes(
        cls, context: Context, pks: Sequence[int], joins: frozenset[Join] = NO_JOINS
    ) -> list[Node | None]:
        """As `Node.resolve_nodes`, and null too where the type's policy refuses the viewer the
        row's workspace."""
        rows = await cls.loader(context.loaders, joins).load_many(list(pks))
        return [
            cls.from_row(row)
            if row is not None and cls.readable_in(context.viewer, row.workspace_id)
            else None
            for row in rows
        ]


_ROW_MAKERS: dict[type[Node], Callable[[Any, dict[str, Any]], Any]] = {}
"""Each `Node` type's maker of objects from rows, made on its first `from_row`."""


def _row_maker(cls: type[Node], computed: Iterable[str]) -> Callable[[Any, dict[str, Any]], Any]:
    """A function made for `cls` alone, as `dataclasses` makes `__init__`: one dict display
    reads each column by name. Every object of every list is made here, so this matters: the
    dataclass `__init__` would set the same attributes (every field is given) a fifth slower,
    and a loop over the column names (zip, attrgetter) was a third slower than a hand-written
    constructor for an Issue."""
    columns = [
        f.name for f in dataclasses.fields(cls) if f.init and f.name not in {"id", "pk", *computed}
    ]
    # Field names are Python identifiers (dataclass fields), so the source is well-formed.
    entries = "".join(f"{name!r}: row.{name}, " for name in columns)
    source = (
        "def make(row, computed):\n"
        "    node = new(cls)\n"
        f"    node.__dict__.update({{'pk': row.id, {entries}}})\n"
        "    if computed:\n"
        "        node.__dict__.update(computed)\n"
        "    return node\n"
    )
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    exec(source, namespace)  # from field names only, as dataclasses does
    if "id" not in cls.__dict__:
        # The objects' `id` is typed `ID`; what the class holds is the descriptor making it.
        setattr(cls, "id", _GlobalId(get_object_definition(cls, strict=True).name))  # noqa: B010
    make: Callable[[Any, dict[str, Any]], Any] = namespace["make"]
    _ROW_MAKERS[cls] = make
    return make


class _GlobalId:
    """The `id` of an object `from_row` made: its global ID, encoded when first read and then
    kept by the object. Most objects of a list view never have theirs read (a comment's author,
    an issue's labels), and encoding one cost more than making the rest of the object."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __get__(self, node: Node | None, owner: type | None = None) -> Any:
        if node is None:
            return self
        global_id = node.__dict__["id"] = to_global_id(self.type_name, node.pk)
        return global_id


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
