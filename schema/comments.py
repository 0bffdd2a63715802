"""Comments: the `Comment` type, its mutations' inputs and payloads, and `CommentMutations`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import comments as use_cases
from schema import refs
from schema.inputs import BODY, EXPECTED_VERSION, VERSION, idempotent
from schema.mutation_field import mutation
from schema.node import Node
from schema.payloads import delete_types, object_payload
from schema.relation_field import relation
from schema.relations import nodes_at

_authors = nodes_at(refs.User, "author_id")
_issues = nodes_at(refs.Issue, "issue_id", missing="Issue not found.")


@strawberry.type(description="A markdown comment on an issue.")
class Comment(Node):
    issue_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]
    body: str = strawberry.field(description="Markdown.")
    created_at: datetime = strawberry.field(description="When it was posted.")
    edited_at: datetime | None = strawberry.field(
        description="When its body was last changed; null if it never was."
    )
    version: int = strawberry.field(description=VERSION)

    author = relation(
        _authors, refs.User | None, description="Who wrote it; null once their account is gone."
    )

    issue = relation(_issues, refs.Issue, description="The issue it is on.")


@strawberry.input(description="A comment on an issue (GUEST and up may comment).")
@idempotent
class CommentCreateInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue to comment on.")
    body: str = strawberry.field(description=BODY)


@strawberry.input(description="New text for your own comment.")
@idempotent
class CommentUpdateInput:
    id: strawberry.ID = strawberry.field(description="Your comment to edit.")
    body: str = strawberry.field(description=BODY)
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)


CommentPayload = object_payload(Comment, "comment", conflict=True)
CommentDeleteInput, CommentDeletePayload = delete_types(
    "comment", "The comment to delete (its author, or ADMIN and up)."
)


@strawberry.type
class CommentMutations:
    """Comment mutations: part of the root `Mutation`."""

    comment_create = mutation(
        use_cases.comment_create,
        CommentCreateInput,
        CommentPayload,
        description="Comment on an issue (any member, GUEST included).",
    )

    comment_update = mutation(
        use_cases.comment_update,
        CommentUpdateInput,
        CommentPayload,
        description="Edit your own comment.",
    )

    comment_delete = mutation(
        use_cases.comment_delete,
        CommentDeleteInput,
        CommentDeletePayload,
        description="Delete a comment (its author, or ADMIN+).",
    )
