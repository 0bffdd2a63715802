"""The `Label` type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from schema import refs
from schema.node import Node
from schema.relation_field import relation
from schema.relations import workspaces_of

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="A tag issues of one workspace can carry.")
class Label(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    name: str = strawberry.field(description="Unique in the workspace.")
    color: str = strawberry.field(description="Hex colour, e.g. `#e11d48`.")
    position: int = strawberry.field(description="Place in the workspace's order of labels.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> Label:
        return cls(
            id=to_global_id("Label", row.id),
            pk=row.id,
            workspace_id=row.workspace_id,
            name=row.name,
            color=row.color,
            position=row.position,
        )

    workspace = relation(workspaces_of, refs.Workspace, description="The workspace it belongs to.")
