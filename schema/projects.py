"""The `Project` type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from schema import refs
from schema.issue_filters import issue_lists
from schema.node import Node
from schema.pagination import Connection
from schema.relation_field import relation
from schema.relations import users_at, workspaces_of

if TYPE_CHECKING:
    from sqlalchemy import Row


_leads = users_at("lead_id")


_issues = issue_lists("issues_of_project", "issues")


@strawberry.type(description="A group of issues sharing a key, such as `ENG`.")
class Project(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    lead_id: strawberry.Private[int | None]
    key: str = strawberry.field(description="Prefix of its issues' identifiers.")
    name: str = strawberry.field(description="What people see: 1 to 200 characters.")
    description: str = strawberry.field(description="Markdown.")
    created_at: datetime = strawberry.field(description="When it was created.")
    archived_at: datetime | None = strawberry.field(
        description="When it was archived (no new issues can be added); null while it is active."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> Project:
        return cls(
            id=to_global_id("Project", row.id),
            pk=row.id,
            workspace_id=row.workspace_id,
            lead_id=row.lead_id,
            key=row.key,
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            archived_at=row.archived_at,
        )

    workspace = relation(workspaces_of, refs.Workspace, description="The workspace it belongs to.")

    lead = relation(
        _leads,
        refs.User | None,
        description="The member who leads it; null if nobody does, or if you can no longer see "
        "their account.",
    )

    issues = relation(
        _issues,
        Connection[refs.Issue],
        description="The project's issues, newest first unless `orderBy` says otherwise.",
    )
