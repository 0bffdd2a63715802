"""The inbox's use cases: notifications read and marked read, preferences, issue
subscriptions (who is told of what is `rules`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auth import policies
from core.enums import NotificationKind
from core.errors import ForbiddenError, NotFoundError
from core.ids import pk_of
from db import notifications as notification_sql
from resolvers.inputs import target_pk
from resolvers.mutations import Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from resolvers.context import Context

NOTIFICATION = Returns("notification", "notification_by_id")
ISSUE = Returns("issue", "issue_by_id")
UNCHANGED = Returns()


async def notification_mark_read(context: Context, input: Any) -> Outcome:
    """Only the viewer's own: anyone else's is NOT_FOUND, as if it did not exist."""

    async def run(journal: Journal) -> Done:
        row = await context.db.fetch_one(
            notification_sql.mark_read(),
            {**context.loaders.scope_params, "target_id": target_pk(input.id, "Notification")},
        )
        if row is None:
            raise NotFoundError("Notification not found.")
        return Done(Outcome(notification=row), (row.id,))

    return await perform(context, "notificationMarkRead", input, NOTIFICATION, run)


async def notification_mark_all_read(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        workspace_id = None
        if input.workspace_id is not None:
            workspace_id = pk_of(input.workspace_id, "Workspace")
            if workspace_id is None or not policies.can_read_workspace(
                context.viewer, workspace_id
            ):
                raise NotFoundError("Workspace not found.")
        rows = await context.db.fetch_all(
            notification_sql.mark_all_read(in_workspace=workspace_id is not None),
            {**context.loaders.scope_params, "workspace_id": workspace_id},
        )
        return Done(Outcome(marked_count=len(rows)))

    return await perform(context, "notificationMarkAllRead", input, UNCHANGED, run)


@dataclass(frozen=True, slots=True)
class Preference:
    kind: NotificationKind
    in_app: bool
    email: bool


def _with_defaults(rows: Iterable[Any]) -> list[Preference]:
    stored = {NotificationKind(row.kind): row for row in rows}
    return [
        Preference(kind, stored[kind].in_app, stored[kind].email)
        if kind in stored
        else Preference(kind, True, kind in notification_sql.EMAIL_BY_DEFAULT)
        for kind in NotificationKind
    ]


async def notification_preferences_of(context: Context, user_id: int) -> list[Preference] | None:
    """Every kind's preference, defaults filled in: the user's own only (null for anyone
    else)."""
    if not policies.can_see_notifications(context.viewer, user_id):
        return None
    rows = await context.db.fetch_all(notification_sql.preferences_of(), {"user_id": user_id})
    return _with_defaults(rows)


async def notification_preference_update(context: Context, input: Any) -> Outcome:
    """Only the fields given change; the other keeps its value (or its default)."""

    async def run(journal: Journal) -> Done:
        row = await context.db.fetch_row(
            notification_sql.set_preference(),
            {
                "user_id": journal.actor_id,
                "kind": NotificationKind(input.kind).value,
                "in_app": _given(input.in_app),
                "email": _given(input.email),
            },
        )
        return Done(
            Outcome(preference=Preference(NotificationKind(row.kind), row.in_app, row.email))
        )

    return await perform(context, "notificationPreferenceUpdate", input, UNCHANGED, run)


def _given(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def may_see_notifications(context: Context, user_id: int) -> bool:
    return policies.can_see_notifications(context.viewer, user_id)


# ---- issue subscriptions ----------------------------------------------------------------------


async def _issue_to_follow(context: Context, global_id: str) -> Any:
    issue = await context.loaders.issue_by_id.load(target_pk(global_id, "Issue"))
    if issue is None:
        raise NotFoundError("Issue not found.")
    if not policies.can_subscribe_to_issue(context.viewer, issue.workspace_id):
        raise ForbiddenError("You may not follow this issue.")
    return issue


async def issue_subscribe(context: Context, input: Any) -> Outcome:
    """Follow an issue: its state changes and comments notify you (subscribing twice is
    subscribing once)."""

    async def run(journal: Journal) -> Done:
        issue = await _issue_to_follow(context, input.issue_id)
        await context.db.fetch_all(
            notification_sql.subscribe(),
            {
                "target_id": issue.id,
                "user_id": journal.actor_id,
                "workspace_id": issue.workspace_id,
            },
        )
        return Done(Outcome(issue=issue), (issue.id,))

    return await perform(context, "issueSubscribe", input, ISSUE, run)


async def issue_unsubscribe(context: Context, input: Any) -> Outcome:
    """Stop following an issue (until you are assigned it or comment on it again)."""

    async def run(journal: Journal) -> Done:
        issue = await _issue_to_follow(context, input.issue_id)
        await context.db.fetch_all(
            notification_sql.unsubscribe(), {"target_id": issue.id, "user_id": journal.actor_id}
        )
        return Done(Outcome(issue=issue), (issue.id,))

    return await perform(context, "issueUnsubscribe", input, ISSUE, run)


async def viewer_follows(context: Context, issue_ids: Sequence[int]) -> list[bool]:
    """Whether the viewer follows each issue: one statement for all (none when anonymous)."""
    if context.viewer.user_id is None:
        return [False] * len(issue_ids)
    return await context.loaders.viewer_subscribed_to_issue.load_many(list(issue_ids))
