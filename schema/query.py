"""The root `Query` type: thin fields that hand off to `resolvers/`."""

from __future__ import annotations

import strawberry

from resolvers import nodes, workspaces
from resolvers.context import Info
from schema.node import Node
from schema.users import User
from schema.workspaces import Workspace


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user, or null for an anonymous request.")
    async def viewer(self, info: Info) -> User | None:
        return await workspaces.viewer(info)

    @strawberry.field(description="A workspace you belong to, by slug; null otherwise.")
    async def workspace(self, info: Info, slug: str) -> Workspace | None:
        return await workspaces.workspace_by_slug(info, slug)

    @strawberry.field(description="Any object by its global ID; null if it does not exist.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await nodes.resolve_node(info, id)

    @strawberry.field(description="Objects by global IDs (at most 100), null where not found.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await nodes.resolve_nodes(info, ids)
