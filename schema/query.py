"""The root `Query` type: where every read starts."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.context import Info
from schema import nodes
from schema.node import Node
from schema.rate_limit import RateLimit
from schema.relations import related_nodes
from schema.users import User
from schema.workspaces import Workspace


@strawberry.type(
    description="What can be read: start from `viewer` (the signed-in user), a `workspace` by "
    "slug, or any object by its ID with `node`."
)
class Query:
    @strawberry.field(description="The signed-in user, or null for an anonymous request.")
    async def viewer(self, info: Info) -> User | None:
        loaders, user_id = info.context.loaders, info.context.viewer.user_id
        (user,) = await related_nodes(loaders.user_by_id.load_many, [user_id], User.from_row)
        assert not isinstance(user, Exception)  # no `missing=`: an unknown key is null
        return user

    @strawberry.field(description="A workspace you belong to, by slug; null otherwise.")
    async def workspace(
        self,
        info: Info,
        slug: Annotated[
            str, strawberry.argument(description="The workspace's slug, as in its URLs.")
        ],
    ) -> Workspace | None:
        row = await info.context.loaders.workspace_by_slug.load(slug)
        return Workspace.from_row(row) if row is not None else None

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

    @strawberry.field(
        description="What this request cost and what is left of your rate limit; null when the "
        "server has no rate limits."
    )
    def rate_limit(self, info: Info) -> RateLimit | None:
        status = info.context.rate_limit
        return RateLimit.from_status(status) if status is not None else None
