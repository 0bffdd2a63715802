"""The `Comment` type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from resolvers.context import Info
from resolvers.errors import NotFoundError
from schema import issues as issue_types
from schema import refs
from schema import users as user_types
from schema.node import Node, to_global_id

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="A markdown comment on an issue.")
class Comment(Node):
    pk: strawberry.Private[int]
    issue_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]
    body: str = strawberry.field(description="Markdown.")
    created_at: datetime
    edited_at: datetime | None
    version: int

    @classmethod
    def from_row(cls, row: Row[Any]) -> Comment:
        return cls(
            id=to_global_id("Comment", row.id),
            pk=row.id,
            issue_id=row.issue_id,
            author_id=row.author_id,
            body=row.body,
            created_at=row.created_at,
            edited_at=row.edited_at,
            version=row.version,
        )

    @strawberry.field(description="Who wrote it; null once their account is gone.")
    async def author(self, info: Info) -> refs.User | None:
        return await user_types.user_or_none(info, self.author_id)

    @strawberry.field
    async def issue(self, info: Info) -> refs.Issue:
        row = await info.context.loaders.issue_by_id.load(self.issue_id)
        if row is None:
            raise NotFoundError("Issue not found.")
        return issue_types.Issue.from_row(row)
