"""`node(id:)` and `nodes(ids:)`: any object by global ID, through the same scoped loaders as
every other path, so an object the viewer cannot read is indistinguishable from a missing one."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from core.errors import BadUserInputError
from core.ids import from_global_id
from schema.activity import ActivityEntry
from schema.comments import Comment
from schema.issues import Issue
from schema.labels import Label
from schema.node import Node
from schema.projects import Project
from schema.users import User
from schema.workflow_states import WorkflowState
from schema.workspaces import Membership, Workspace

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiodataloader import DataLoader

    from db.loaders import Loaders
    from resolvers.context import Info

MAX_NODES = 100

NODE_TYPES: dict[str, tuple[Callable[[Loaders], DataLoader[int, Any]], Callable[[Any], Node]]] = {
    "User": (lambda loaders: loaders.user_by_id, User.from_row),
    "Workspace": (lambda loaders: loaders.workspace_by_id, Workspace.from_row),
    "Membership": (lambda loaders: loaders.membership_by_id, Membership.from_row),
    "Project": (lambda loaders: loaders.project_by_id, Project.from_row),
    "WorkflowState": (lambda loaders: loaders.workflow_state_by_id, WorkflowState.from_row),
    "Label": (lambda loaders: loaders.label_by_id, Label.from_row),
    "Issue": (lambda loaders: loaders.issue_by_id, Issue.from_row),
    "Comment": (lambda loaders: loaders.comment_by_id, Comment.from_row),
    "ActivityEntry": (lambda loaders: loaders.activity_by_id, ActivityEntry.from_row),
}


async def resolve_node(info: Info, global_id: str) -> Node | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] not in NODE_TYPES:
        return None
    type_name, pk = decoded
    loader, to_node = NODE_TYPES[type_name]
    row = await loader(info.context.loaders).load(pk)
    return to_node(row) if row is not None else None


async def resolve_nodes(info: Info, global_ids: list[str]) -> list[Node | None]:
    if len(global_ids) > MAX_NODES:
        raise BadUserInputError(
            f"`nodes` accepts at most {MAX_NODES} IDs; {len(global_ids)} were given.",
            argument="ids",
            limit=MAX_NODES,
        )
    return list(await asyncio.gather(*(resolve_node(info, gid) for gid in global_ids)))
