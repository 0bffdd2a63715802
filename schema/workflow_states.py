"""The `WorkflowState` type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from schema import refs
from schema.enums import WorkflowStateType
from schema.node import Node
from schema.relation_field import relation
from schema.relations import workspaces_of

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="A column of a workspace's board, such as Todo or Done.")
class WorkflowState(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    name: str = strawberry.field(description="Unique in the workspace, such as In Review.")
    type: WorkflowStateType = strawberry.field(
        description="What being in this state says about an issue's progress."
    )
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

    workspace = relation(workspaces_of, refs.Workspace, description="The workspace it belongs to.")
