"""The `Comment` type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from resolvers.context import Context
from schema import issues as issue_types
from schema import refs
from schema.node import Node
from schema.relation_field import relation
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

    author = relation(
        _authors, refs.User | None, description="Who wrote it; null once their account is gone."
    )

    issue = relation(_issues, refs.Issue, description="The issue it is on.")
