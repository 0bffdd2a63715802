"""Root lookups of workspaces and of the viewer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.relations import related_nodes
from schema.users import User
from schema.workspaces import Workspace

if TYPE_CHECKING:
    from resolvers.context import Info


async def workspace_by_slug(info: Info, slug: str) -> Workspace | None:
    row = await info.context.loaders.workspace_by_slug.load(slug)
    return Workspace.from_row(row) if row is not None else None


async def viewer(info: Info) -> User | None:
    loaders = info.context.loaders
    (user,) = await related_nodes(loaders.user_by_id, [info.context.viewer.user_id], User.from_row)
    return user  # type: ignore[return-value]
