"""Root lookups of workspaces and of the viewer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schema.users import User, user_or_none
from schema.workspaces import Workspace

if TYPE_CHECKING:
    from resolvers.context import Info


async def workspace_by_slug(info: Info, slug: str) -> Workspace | None:
    row = await info.context.loaders.workspace_by_slug.load(slug)
    return Workspace.from_row(row) if row is not None else None


async def viewer(info: Info) -> User | None:
    return await user_or_none(info, info.context.viewer.user_id)
