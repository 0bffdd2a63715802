"""Inputs and payloads of the comment mutations."""

from __future__ import annotations

import strawberry

from schema import refs
from schema.issue_mutations import EXPECTED_VERSION, IDEMPOTENCY_KEY
from schema.user_errors import UserError


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
    deleted_comment_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The `id` of the comment, which no longer exists; null when `errors` is "
        "not empty.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
