"""The `Project` type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from resolvers.context import Info
from resolvers.errors import NotFoundError
from schema import issues as issue_types
from schema import refs
from schema import users as user_types
from schema import workspaces as workspace_types
from schema.node import Node, to_global_id
from schema.pagination import Connection

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="A group of issues sharing a key, such as `ENG`.")
class Project(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    lead_id: strawberry.Private[int | None]
    key: str = strawberry.field(description="Prefix of its issues' identifiers.")
    name: str
    description: str = strawberry.field(description="Markdown.")
    created_at: datetime
    archived_at: datetime | None

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

    @strawberry.field
    async def workspace(self, info: Info) -> refs.Workspace:
        return await workspace_types.workspace_by_id(info, self.workspace_id)

    @strawberry.field
    async def lead(self, info: Info) -> refs.User | None:
        return await user_types.user_or_none(info, self.lead_id)

    @strawberry.field
    async def issues(
        self,
        info: Info,
        filter: refs.IssueFilter | None = None,
        order_by: list[refs.IssueOrder] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.Issue]:
        return await issue_types.issue_connection(
            info.context.loaders.issues_of_project,
            "issues",
            self.pk,
            filter=filter,
            order_by=order_by,
            first=first,
            after=after,
            last=last,
            before=before,
        )


async def project_by_id(info: Info, project_id: int) -> Project:
    row = await info.context.loaders.project_by_id.load(project_id)
    if row is None:
        raise NotFoundError("Project not found.")
    return Project.from_row(row)
