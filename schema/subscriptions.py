"""`Subscription`: live updates over WebSockets (`server/live.py` serves them).

Each root field checks its arguments and the viewer's access when the client subscribes, and
returns the source stream the server feeds. Every event is one mutation's change to one object:
the object as it is now (selected like any query, through the loaders), what changed (the
activity log's entries: field, from, to), and the stream cursor to resume after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from core.ids import to_global_id
from resolvers import subscriptions
from resolvers.context import Info
from schema import refs
from schema.activity import (
    SUBJECT_TYPE_NAMES,
    ActivityAction,
    ActivityEntry,
    nodes_by_reference,
)
from schema.changes import stream_cursor, stream_position
from schema.issue_filters import IssueFilter, filter_spec
from schema.node import Node
from schema.relation_field import relation
from schema.relations import nodes_at

if TYPE_CHECKING:
    from collections.abc import Sequence

    from resolvers.context import Context
    from resolvers.subscriptions import Event

AFTER = (
    "Resume: the `cursor` of the last event applied (or of `workspace.changes`). The events "
    f"since are sent first, then live ones, with no gap and no duplicate. At most "
    f"{subscriptions.RETENTION_DAYS} days back: an older cursor gets `CURSOR_EXPIRED`, and the "
    "client refetches."
)
After = Annotated[str | None, strawberry.argument(description=AFTER)]
"""The `after` argument every subscription takes."""


def _event_fields(event: Event, workspace_id: int) -> dict[str, Any]:
    return {
        "cursor": stream_cursor(workspace_id, event.cursor_id),
        "action": ActivityAction(event.action),
        "changes": [ActivityEntry.from_row(entry) for entry in event.entries],
        "subject_id": event.subject_id,
        "actor_id": event.entries[-1].actor_id,
    }


async def _subjects(events: Sequence[Any], context: Context) -> list[Any]:
    return await nodes_by_reference([(e.subject_type, e.subject_id) for e in events], context)


@strawberry.interface(description="One mutation's change to one object, in a workspace's stream.")
class ChangeEvent:
    subject_id: strawberry.Private[int]
    actor_id: strawberry.Private[int | None]
    cursor: str = strawberry.field(
        description="Where the event is in its workspace's stream: pass it as `after` to resume "
        "after it, or as `since` to `workspace.changes`."
    )
    action: ActivityAction = strawberry.field(
        description="CREATED or DELETED if the mutation did that; else what its last change did."
    )
    changes: list[ActivityEntry] = strawberry.field(
        description="The activity log's entries of the change, in order: which field went from "
        "what to what."
    )
    actor = relation(
        nodes_at(refs.User, "actor_id"),
        refs.User | None,
        description="Who made the change; null once their account is gone.",
    )


def _subject_id(type_name: str) -> Any:
    """The `<subject>Id` field of an event whose subject is always a `type_name`."""

    def subject_id(self: ChangeEvent) -> strawberry.ID:
        return strawberry.ID(to_global_id(type_name, self.subject_id))

    noun = type_name.lower()
    return strawberry.field(
        resolver=subject_id, description=f"The {noun}'s ID (also when it was deleted)."
    )


def _subject(of: Any, type_name: str) -> Any:
    """The field of the event's subject, a `type_name` (`of` its lazy reference)."""
    return relation(
        nodes_at(of, "subject_id"),
        of | None,
        description=f"The {type_name.lower()} as it is now; null once deleted.",
    )


@strawberry.type(description="An issue created, changed, archived or deleted.")
class IssueEvent(ChangeEvent):
    matches_filter: bool = strawberry.field(
        description="False when the issue no longer matches the subscription's filter (or was "
        "deleted): take it out of the filtered view."
    )
    issue_id: strawberry.ID = _subject_id("Issue")
    issue = _subject(refs.Issue, "Issue")


@strawberry.type(description="A comment added, edited or deleted.")
class CommentEvent(ChangeEvent):
    comment_id: strawberry.ID = _subject_id("Comment")
    comment = _subject(refs.Comment, "Comment")


@strawberry.type(description="Any change in a workspace: the activity stream, live.")
class WorkspaceEvent(ChangeEvent):
    subject_type: str = strawberry.field(
        description=f"The type of the object changed: {SUBJECT_TYPE_NAMES}."
    )

    @strawberry.field(
        name="subjectId", description="The changed object's ID (also when it was deleted)."
    )
    def subject_global_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id(self.subject_type, self.subject_id))

    subject = relation(
        _subjects, Node | None, description="The object as it is now; null once deleted."
    )


def event_value(
    topic: subscriptions.Topic, event: Event, *, matches_filter: bool = True
) -> ChangeEvent:
    """The root value one event of `topic` is executed with."""
    fields = _event_fields(event, topic.workspace_id)
    if topic.kind == subscriptions.ISSUES:
        return IssueEvent(**fields, matches_filter=matches_filter and event.action != "DELETED")
    if topic.kind == subscriptions.COMMENTS:
        return CommentEvent(**fields)
    return WorkspaceEvent(**fields, subject_type=event.subject_type)


def _position(after: str | None) -> tuple[int, int] | None:
    return None if after is None else stream_position(after, "after")


@strawberry.type(
    description="Live updates over WebSockets (`graphql-transport-ws`, or the legacy "
    "`graphql-ws`) at `/graphql`."
)
class Subscription:
    @strawberry.subscription(
        description="Issues of a workspace, a project or one issue (name exactly one) created, "
        "changed, archived or deleted, optionally only those matching `filter` (evaluated for "
        "each event, as lists evaluate it)."
    )
    async def issue_changed(
        self,
        info: Info,
        workspace_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Every issue of a workspace.")
        ] = None,
        project_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The issues of one project.")
        ] = None,
        issue_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="One issue.")
        ] = None,
        filter: Annotated[
            IssueFilter | None,
            strawberry.argument(
                description="Only issues that match it (archived ones only if it says so); "
                "an issue that stops matching gets one last event with `matchesFilter: false`."
            ),
        ] = None,
        after: After = None,
    ) -> AsyncIterator[IssueEvent]:
        topic = await subscriptions.issues_topic(
            info.context,
            workspace_id=workspace_id,
            project_id=project_id,
            issue_id=issue_id,
            issue_filter=filter_spec(filter),
            after_id=_position(after),
        )
        return _open(info, topic)

    @strawberry.subscription(description="Comments of an issue added, edited or deleted.")
    async def comment_changed(
        self,
        info: Info,
        issue_id: Annotated[
            strawberry.ID, strawberry.argument(description="The issue whose comments to watch.")
        ],
        after: After = None,
    ) -> AsyncIterator[CommentEvent]:
        topic = await subscriptions.comments_topic(info.context, issue_id, _position(after))
        return _open(info, topic)

    @strawberry.subscription(
        description="Every change in a workspace, as its activity stream records it (the "
        "objects of types your role may not read are left out)."
    )
    async def workspace_changed(
        self,
        info: Info,
        workspace_id: Annotated[
            strawberry.ID, strawberry.argument(description="The workspace to watch.")
        ],
        subject_types: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Only the changes of objects of these types (any of "
                f"{SUBJECT_TYPE_NAMES}); every change if null. An empty list or an unknown "
                "name is refused."
            ),
        ] = None,
        after: After = None,
    ) -> AsyncIterator[WorkspaceEvent]:
        topic = await subscriptions.activity_topic(
            info.context, workspace_id, _position(after), subject_types
        )
        return _open(info, topic)


def _open(info: Info, topic: subscriptions.Topic) -> AsyncIterator[Any]:
    live = info.context.live
    if live is None:
        raise subscriptions.LiveUpdatesUnavailableError(
            "Subscriptions are served over WebSockets at /graphql."
        )
    return live.open(topic)
