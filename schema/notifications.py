"""The inbox: the `Notification` and `NotificationPreference` types, the fields they add to
`User` (`notifications`, `unreadNotificationCount`, `notificationPreferences`) and to `Issue`
(`viewerIsSubscribed`), and `NotificationMutations` (marking read, preferences, following
issues)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from core.errors import BacklogError
from db.loaders import CountKey
from resolvers.notifications import inbox as use_cases
from schema import orderings, refs
from schema.enums import NotificationKind
from schema.inputs import changed_if_given, id_input
from schema.mutation_field import mutation
from schema.node import Node
from schema.pagination import Connection
from schema.payloads import node_field, payload_type, scalar_field
from schema.relation_field import relation
from schema.relations import connections_of, nodes_at, workspace_relation

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Unpack

    from resolvers.context import Context
    from schema.relation_field import PageArguments


@strawberry.type(description="Something you are told about: a change to an issue, by someone.")
class Notification(Node):
    workspace_id: strawberry.Private[int]
    issue_id: strawberry.Private[int]
    comment_id: strawberry.Private[int | None]
    actor_id: strawberry.Private[int | None]
    kind: NotificationKind = strawberry.field(description="What happened.")
    created_at: datetime = strawberry.field(description="When it happened.")
    read_at: datetime | None = strawberry.field(
        description="When you marked it read; null while it is unread."
    )

    @strawberry.field(description="Whether you marked it read.")
    def read(self) -> bool:
        return self.read_at is not None

    workspace = workspace_relation()

    issue = relation(
        nodes_at(refs.Issue, "issue_id", missing="Issue not found."),
        refs.Issue,
        description="The issue it is about.",
    )

    comment = relation(
        nodes_at(refs.Comment, "comment_id"),
        refs.Comment | None,
        description="The comment it is about (a mention in it, or a new comment); null if none.",
    )

    actor = relation(
        nodes_at(refs.User, "actor_id"),
        refs.User | None,
        description="Who did it; null once their account is gone.",
    )


@strawberry.type(description="How you are told of one kind of notification.")
class NotificationPreference:
    kind: NotificationKind = strawberry.field(description="The kind it is for.")
    in_app: bool = strawberry.field(
        description="Whether it appears in your `notifications` (default: yes)."
    )
    email: bool = strawberry.field(
        description="Whether it is also emailed to you (default: for ASSIGNED and MENTIONED)."
    )

    @classmethod
    def from_row(cls, row: Any) -> NotificationPreference:
        return cls(kind=row.kind, in_app=row.in_app, email=row.email)


# ---- fields of `User` and `Issue` (batch functions; see `schema.relation_field`) -------------


async def notifications_of(
    parents: Sequence[Any],
    context: Context,
    unread_only: Annotated[
        bool, strawberry.argument(description="Only the notifications not marked read.")
    ] = False,
    **page: Unpack[PageArguments],
) -> list[Connection[Any] | Exception | None]:
    """Each user's notifications, newest first: the viewer's own; null on anyone else."""
    own = [p.pk for p in parents if use_cases.may_see_notifications(context, p.pk)]
    loaders = context.loaders
    relation = (
        loaders.unread_notifications_of_user if unread_only else loaders.notifications_of_user
    )
    pages: list[Connection[Any]] | list[Exception] = []
    if own:
        try:
            pages = await connections_of(
                own,
                relation,
                "notifications",
                orderings.NOTIFICATIONS,
                Notification.from_row,
                **page,
            )
        except BacklogError as error:
            # Bad paging arguments fail the viewer's own list only: anyone else's is null, as
            # it is when asked one user at a time.
            pages = [error] * len(own)
    found: dict[int, Connection[Any] | Exception] = dict(zip(own, pages, strict=True))
    return [found.get(p.pk) for p in parents]


async def unread_counts_of(parents: Sequence[Any], context: Context) -> list[int | None]:
    """How many of each user's notifications are unread: the viewer's own; null on anyone
    else."""
    counts = context.loaders.unread_notifications_of_user.counts
    own = [p.pk for p in parents if use_cases.may_see_notifications(context, p.pk)]
    found = dict(zip(own, await counts.load_many([CountKey(pk) for pk in own]), strict=True))
    return [found.get(p.pk) for p in parents]


async def preferences_of(
    parents: Sequence[Any], context: Context
) -> list[list[NotificationPreference] | None]:
    results: list[list[NotificationPreference] | None] = []
    for parent in parents:
        found = await use_cases.notification_preferences_of(context, parent.pk)
        results.append(
            None if found is None else [NotificationPreference.from_row(p) for p in found]
        )
    return results


async def viewer_follows(parents: Sequence[Any], context: Context) -> list[bool]:
    return await use_cases.viewer_follows(context, [parent.pk for parent in parents])


def user_notifications() -> Any:
    return relation(
        notifications_of,
        Connection[refs.Notification] | None,
        description="Your notifications, newest first (`unreadOnly: true` for the unread "
        "ones), of the workspaces you are a member of; null on anyone else.",
    )


def user_unread_notification_count() -> Any:
    return relation(
        unread_counts_of,
        int | None,
        description="How many of your notifications are unread; null on anyone else.",
    )


def user_notification_preferences() -> Any:
    return relation(
        preferences_of,
        list[NotificationPreference] | None,
        description="How you are told of each kind of notification (every kind, defaults "
        "filled in); null on anyone else.",
    )


def issue_viewer_is_subscribed() -> Any:
    return relation(
        viewer_follows,
        bool,
        description="Whether you follow this issue (its state changes and new comments "
        "notify you): its creator, assignees and commenters follow it automatically.",
    )


# ---- mutations ---------------------------------------------------------------------------------


NotificationMarkReadInput = id_input(
    "NotificationMarkReadInput", "The notification to mark read.", "One of your notifications."
)


@strawberry.input(description="Which notifications to mark read: all of yours, or one workspace's.")
class NotificationMarkAllReadInput:
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this workspace's; every workspace's if omitted."
    )


@strawberry.input(description="Your preference for one kind: only the fields given change.")
class NotificationPreferenceUpdateInput:
    kind: NotificationKind = strawberry.field(description="The kind to change.")
    in_app: bool | None = changed_if_given("Show it in your notifications.")
    email: bool | None = changed_if_given("Email it to you.")


@strawberry.input(description="The issue to follow or stop following.")
class IssueSubscriptionInput:
    issue_id: strawberry.ID = strawberry.field(description="An issue you can read.")


NotificationPayload = payload_type(
    "NotificationPayload",
    "The notification marked read, or why it could not be.",
    notification=node_field(refs.Notification, "As it is now; null when `errors` is not empty."),
)
NotificationMarkAllReadPayload = payload_type(
    "NotificationMarkAllReadPayload",
    "How many notifications were marked read.",
    marked_count=scalar_field(int, "How many were unread and are now read."),
)
NotificationPreferencePayload = payload_type(
    "NotificationPreferencePayload",
    "The preference as it is now, or why it could not be changed.",
    preference=node_field(NotificationPreference, "Null when `errors` is not empty."),
)
IssueSubscriptionPayload = payload_type(
    "IssueSubscriptionPayload",
    "The issue followed or no longer followed (see `viewerIsSubscribed`).",
    issue=node_field(refs.Issue, "The issue; null when `errors` is not empty."),
)


@strawberry.type
class NotificationMutations:
    """Inbox mutations: part of the root `Mutation`."""

    notification_mark_read = mutation(
        use_cases.notification_mark_read,
        NotificationMarkReadInput,
        NotificationPayload,
        description="Mark one of your notifications read (anyone else's is NOT_FOUND).",
    )

    notification_mark_all_read = mutation(
        use_cases.notification_mark_all_read,
        NotificationMarkAllReadInput,
        NotificationMarkAllReadPayload,
        description="Mark all your unread notifications read (of one workspace, if given).",
    )

    notification_preference_update = mutation(
        use_cases.notification_preference_update,
        NotificationPreferenceUpdateInput,
        NotificationPreferencePayload,
        description="Change how you are told of one kind of notification.",
    )

    issue_subscribe = mutation(
        use_cases.issue_subscribe,
        IssueSubscriptionInput,
        IssueSubscriptionPayload,
        description="Follow an issue you can read (GUEST included): its state changes and new "
        "comments notify you.",
    )

    issue_unsubscribe = mutation(
        use_cases.issue_unsubscribe,
        IssueSubscriptionInput,
        IssueSubscriptionPayload,
        description="Stop following an issue (until you are assigned it or comment on it).",
    )
