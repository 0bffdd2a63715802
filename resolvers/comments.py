"""Comment mutations: anyone in the workspace comments; authors edit; authors or admins delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auth import policies
from core.errors import ForbiddenError, NotFoundError
from core.ids import to_global_id
from db import comments as comment_sql
from db import queries, writes
from db.activity import Change
from resolvers.inputs import body_errors, conflict, target_pk
from resolvers.mutations import Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from auth.viewer import Viewer
    from resolvers.context import Context


COMMENT = Returns("comment", "comment_by_id")
DELETED = Returns()


async def _locked_comment(
    context: Context, global_id: str, may: Callable[[Viewer, int, int | None], bool], refusal: str
) -> Any:
    """The comment, locked until commit; NOT_FOUND outside the viewer's scope, FORBIDDEN with
    `refusal` unless the policy `may(viewer, workspace id, author id)` allows it."""
    row = await context.db.fetch_one(
        comment_sql.lock_comment(),
        {**context.loaders.scope_params, "target_id": target_pk(global_id, "Comment")},
    )
    if row is None:
        raise NotFoundError("Comment not found.")
    if not may(context.viewer, row.workspace_id, row.author_id):
        raise ForbiddenError(refusal)
    return row


async def comment_create(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        issue = await context.loaders.issue_by_id.load(target_pk(input.issue_id, "Issue"))
        if issue is None:
            raise NotFoundError("Issue not found.")
        if not policies.can_comment(context.viewer, issue.workspace_id):
            raise ForbiddenError("You may not comment here.")
        errors = body_errors(input.body, "body", required=True)
        if errors:
            return Done(Outcome(errors=errors))
        row = await context.db.fetch_row(
            comment_sql.insert_comment(),
            {
                "workspace_id": issue.workspace_id,
                "issue_id": issue.id,
                "author_id": journal.actor_id,
                "body": input.body,
            },
        )
        journal.record(Change(issue.workspace_id, "Comment", row.id, "CREATED", issue_id=issue.id))
        return Done(Outcome(comment=row), (row.id,))

    return await perform(context, "commentCreate", input, COMMENT, run)


async def comment_update(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await _locked_comment(
            context, input.id, policies.can_edit_comment, "Only its author may edit a comment."
        )
        if input.expected_version is not None and input.expected_version != current.version:
            return Done(
                Outcome(
                    comment=current,
                    errors=[conflict("comment", input.expected_version, current.version)],
                )
            )
        errors = body_errors(input.body, "body", required=True)
        if errors:
            return Done(Outcome(errors=errors))
        if input.body == current.body:
            return Done(Outcome(comment=current), (current.id,))
        row = await context.db.fetch_row(
            writes.update_columns(queries.comments, frozenset({"body"}), versioned=True),
            {"target_id": current.id, "new_body": input.body},
        )
        journal.record(
            Change(
                current.workspace_id,
                "Comment",
                current.id,
                "UPDATED",
                issue_id=current.issue_id,
                field="body",
                previous_text=current.body,
            )
        )
        return Done(Outcome(comment=row), (row.id,))

    return await perform(context, "commentUpdate", input, COMMENT, run)


async def comment_delete(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await _locked_comment(
            context,
            input.id,
            policies.can_delete_comment,
            "Only its author or an admin may delete a comment.",
        )
        await context.db.fetch_all(writes.delete_row(queries.comments), {"target_id": current.id})
        journal.record(
            Change(
                current.workspace_id,
                "Comment",
                current.id,
                "DELETED",
                issue_id=current.issue_id,
            )
        )
        return Done(Outcome(deleted_comment_id=to_global_id("Comment", current.id)))

    return await perform(context, "commentDelete", input, DELETED, run)
