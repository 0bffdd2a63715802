"""The `Comment` type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from execution.batching import batched, resolve_one
from resolvers.context import Context, Info
from schema import issues as issue_types
from schema import refs
from schema.node import Node
from schema.relations import related_nodes, users_at

if TYPE_CHECKING:
    from sqlalchemy import Row


_authors = users_at("author_id")


async def _issues(comments: list[Comment], context: Context) -> list[Any]:
    return await related_nodes(
        context.loaders.issue_by_id,
        [c.issue_id for c in comments],
        issue_types.Issue.from_row,
        missing="Issue not found.",
    )


@strawberry.type(description="A markdown comment on an issue.")
class Comment(Node):
    pk: strawberry.Private[int]
    issue_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]
    body: str = strawberry.field(description="Markdown.")
    created_at: datetime = strawberry.field(description="When it was posted.")
    edited_at: datetime | None = strawberry.field(
        description="When its body was last changed; null if it never was."
    )
    version: int = strawberry.field(
        description="1 when posted, plus one per edit: give it as `expectedVersion` to "
        "`commentUpdate` so a concurrent edit is not overwritten."
    )

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

    @strawberry.field(
        description="Who wrote it; null once their account is gone.", metadata=batched(_authors)
    )
    async def author(self, info: Info) -> refs.User | None:
        return await resolve_one(_authors, self, info)

    @strawberry.field(description="The issue it is on.", metadata=batched(_issues))
    async def issue(self, info: Info) -> refs.Issue:
        return await resolve_one(_issues, self, info)
