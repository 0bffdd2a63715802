"""The root `Query` type: thin fields that hand off to `resolvers/`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import nodes, workspaces
from resolvers.context import Info
from schema.node import Node
from schema.users import User
from schema.workspaces import Workspace


@strawberry.type(
    description="What can be read: start from `viewer` (the signed-in user), a `workspace` by "
    "slug, or any object by its ID with `node`."
)
class Query:
    @strawberry.field(description="The signed-in user, or null for an anonymous request.")
    async def viewer(self, info: Info) -> User | None:
        return await workspaces.viewer(info)

    @strawberry.field(description="A workspace you belong to, by slug; null otherwise.")
    async def workspace(
        self,
        info: Info,
        slug: Annotated[
            str, strawberry.argument(description="The workspace's slug, as in its URLs.")
        ],
    ) -> Workspace | None:
        return await workspaces.workspace_by_slug(info, slug)

    @strawberry.field(description="Any object by its global ID; null if it does not exist.")
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The `id` of any object, as the API returned it."),
        ],
    ) -> Node | None:
        return await nodes.resolve_node(info, id)

    @strawberry.field(description="Objects by global IDs (at most 100), null where not found.")
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(
                description="Up to 100 `id`s; the result has one entry per ID, in this order."
            ),
        ],
    ) -> list[Node | None]:
        return await nodes.resolve_nodes(info, ids)
