"""`node(id:)` and `nodes(ids:)`: any object by global ID, through the same scoped loaders as
every other path, so an object the viewer cannot read is indistinguishable from a missing one."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from core.errors import BadUserInputError
from core.ids import from_global_id
from execution.links import links_selected_in
from schema.node import node_type
from schema.relations import joins_of

if TYPE_CHECKING:
    from resolvers.context import Info
    from schema.node import Node

MAX_NODES = 100


async def resolve_node(info: Info, global_id: str) -> Node | None:
    decoded = from_global_id(global_id)
    cls = node_type(decoded[0]) if decoded is not None else None
    if decoded is None or cls is None:
        return None
    joins = joins_of(links_selected_in(info, decoded[0]))
    (node,) = await cls.resolve_nodes(info.context, [decoded[1]], joins)
    return node


async def resolve_nodes(info: Info, global_ids: list[str]) -> list[Node | None]:
    if len(global_ids) > MAX_NODES:
        raise BadUserInputError(
            f"`nodes` accepts at most {MAX_NODES} IDs; {len(global_ids)} were given.",
            argument="ids",
            limit=MAX_NODES,
        )
    return list(await asyncio.gather(*(resolve_node(info, gid) for gid in global_ids)))
