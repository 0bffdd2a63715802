"""Comments: the `Comment` type, its mutations' inputs and payloads, and `CommentMutations`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from resolvers import comments as use_cases
from resolvers.context import Context
from schema import issues as issue_types
from schema import refs
from schema.node import Node
from schema.payloads import EXPECTED_VERSION, IDEMPOTENCY_KEY, gone_id, mutation
from schema.relation_field import relation
from schema.relations import related_nodes, users_at
from schema.user_errors import UserError

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

    loader_name = "comment_by_id"

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


@strawberry.input(description="A comment on an issue (GUEST and up may comment).")
class CommentCreateInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue to comment on.")
    body: str = strawberry.field(description="Markdown, 1 byte to 64 KiB.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="New text for your own comment.")
class CommentUpdateInput:
    id: strawberry.ID = strawberry.field(description="Your comment to edit.")
    body: str = strawberry.field(description="Markdown, 1 byte to 64 KiB.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The comment to delete (its author, or ADMIN and up).")
class CommentDeleteInput:
    id: strawberry.ID = strawberry.field(description="The comment to delete.")


@strawberry.type(description="The comment a mutation created or changed, or why it could not.")
class CommentPayload:
    comment: refs.Comment | None = strawberry.field(
        default=None, description="On CONFLICT, the comment as it is now."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The comment deleted, or why it was not.")
class CommentDeletePayload:
    deleted_comment_id: strawberry.ID | None = gone_id("comment")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CommentMutations:
    """Comment mutations: part of the root `Mutation`."""

    comment_create = mutation(
        use_cases.comment_create,
        CommentCreateInput,
        CommentPayload,
        description="Comment on an issue (any member, GUEST included).",
        comment=Comment.from_row,
    )

    comment_update = mutation(
        use_cases.comment_update,
        CommentUpdateInput,
        CommentPayload,
        description="Edit your own comment.",
        comment=Comment.from_row,
    )

    comment_delete = mutation(
        use_cases.comment_delete,
        CommentDeleteInput,
        CommentDeletePayload,
        description="Delete a comment (its author, or ADMIN+).",
    )
