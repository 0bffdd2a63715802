"""The `WorkflowState` type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from resolvers.context import Info
from resolvers.errors import NotFoundError
from schema import refs
from schema import workspaces as workspace_types
from schema.enums import WorkflowStateType
from schema.node import Node, to_global_id

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="A column of a workspace's board, such as Todo or Done.")
class WorkflowState(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    name: str
    type: WorkflowStateType
    position: int = strawberry.field(description="Order on the board, left to right.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> WorkflowState:
        return cls(
            id=to_global_id("WorkflowState", row.id),
            pk=row.id,
            workspace_id=row.workspace_id,
            name=row.name,
            type=row.type,
            position=row.position,
        )

    @strawberry.field
    async def workspace(self, info: Info) -> refs.Workspace:
        return await workspace_types.workspace_by_id(info, self.workspace_id)


async def workflow_state_by_id(info: Info, state_id: int) -> WorkflowState:
    row = await info.context.loaders.workflow_state_by_id.load(state_id)
    if row is None:
        raise NotFoundError("Workflow state not found.")
    return WorkflowState.from_row(row)
