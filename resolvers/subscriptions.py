"""Subscriptions: what a subscriber watches (`Topic`), checked when it subscribes, and how the
activity log's entries become the events it is sent.

An event is one mutation's change to one object: the consecutive entries of one subject that one
transaction appended (they share its start time and actor), so an `issueUpdate` that moves an
issue and renames it is one event with two changes, not two re-renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from auth import policies
from auth.viewer import Viewer
from core.errors import BacklogError, BadUserInputError, NotFoundError
from core.ids import pk_of
from db.activity import SUBJECT_TYPES
from db.subscriptions import stream_head
from resolvers.issues import LOGGED_AS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection, Sequence

    from core.enums import Role
    from db.issue_filters import IssueFilter
    from resolvers.context import Context

_LOGGED_COLUMNS = {logged: column for column, logged in LOGGED_AS.items()}

ISSUES = "issues"
COMMENTS = "comments"
ACTIVITY = "activity"

RETENTION_DAYS = 7
"""How far back a subscription may resume (`after:`): a cursor whose next entry is older than
this is refused with `CURSOR_EXPIRED`, and the client refetches."""


class LiveUpdatesUnavailableError(BacklogError):
    """A subscription sent where no live updates are served (over HTTP)."""

    code = "BAD_REQUEST"


class CursorExpiredError(BadUserInputError):
    """The cursor is older than the retention window: refetch, then subscribe without `after`."""

    code = "CURSOR_EXPIRED"


@dataclass(frozen=True, slots=True)
class Topic:
    """What one subscription watches: `kind` of events in a workspace, narrowed to a project,
    an issue, or the issues matching a filter; the events after entry `after_id`, which is the
    stream's head when it subscribed unless it `resumed` from a cursor."""

    kind: str
    workspace_id: int
    after_id: int
    resumed: bool
    project_id: int | None = None
    """What narrows the workspace, with `issue_id` (one of them at most): an ISSUES topic's
    project or issue, a COMMENTS topic's issue; an ACTIVITY topic has neither."""
    issue_id: int | None = None
    issue_filter: IssueFilter | None = None
    subject_types: frozenset[str] | None = None
    """The types of objects whose changes an ACTIVITY topic sends; None: every type."""


class LiveUpdates(Protocol):
    """The server's side of subscriptions, as the resolvers see it (`Context.live`)."""

    def open(self, topic: Topic) -> AsyncIterator[Any]:
        """The source stream of a subscription to `topic`, once the resolver has checked it."""
        ...


async def issues_topic(
    context: Context,
    *,
    workspace_id: str | None,
    project_id: str | None,
    issue_id: str | None,
    issue_filter: IssueFilter,
    after_id: tuple[int, int] | None,
) -> Topic:
    """The issues of one workspace, project or issue (exactly one of them is named) that match
    `issue_filter`; NOT_FOUND for one the viewer may not read, as for any query."""
    named = [
        name
        for name, value in (
            ("workspaceId", workspace_id),
            ("projectId", project_id),
            ("issueId", issue_id),
        )
        if value is not None
    ]
    if len(named) != 1:
        raise BadUserInputError(
            "Name exactly one of `workspaceId`, `projectId` and `issueId`.",
            argument=named[1] if named else "workspaceId",
        )
    if workspace_id is not None:
        workspace, place = _readable_workspace(context, workspace_id), {}
    elif project_id is not None:
        row = await _row(context, context.loaders.project_by_id, project_id, "Project")
        workspace, place = row.workspace_id, {"project_id": row.id}
    else:
        assert issue_id is not None
        row = await _row(context, context.loaders.issue_by_id, issue_id, "Issue")
        workspace, place = row.workspace_id, {"issue_id": row.id}
    start = await _start(context, workspace, after_id)
    return Topic(ISSUES, workspace, *start, issue_filter=issue_filter, **place)


async def comments_topic(
    context: Context, issue_id: str, after_id: tuple[int, int] | None
) -> Topic:
    row = await _row(context, context.loaders.issue_by_id, issue_id, "Issue")
    start = await _start(context, row.workspace_id, after_id)
    return Topic(COMMENTS, row.workspace_id, *start, issue_id=row.id)


async def activity_topic(
    context: Context,
    workspace_id: str,
    after_id: tuple[int, int] | None,
    subject_types: Collection[str] | None = None,
) -> Topic:
    """The workspace's stream, or only the changes of objects of `subject_types` (names among
    `db.activity.SUBJECT_TYPES`; refused when unknown, or when none is named)."""
    types = None if subject_types is None else frozenset(subject_types)
    if types is not None and (not types or not types <= frozenset(SUBJECT_TYPES)):
        raise BadUserInputError(
            f"`subjectTypes` names one or more of {', '.join(SUBJECT_TYPES)}, or is left out.",
            argument="subjectTypes",
        )
    workspace = _readable_workspace(context, workspace_id)
    start = await _start(context, workspace, after_id)
    return Topic(ACTIVITY, workspace, *start, subject_types=types)


def _readable_workspace(context: Context, global_id: str) -> int:
    pk = pk_of(global_id, "Workspace")
    if pk is None or not policies.can_read_workspace(context.viewer, pk):
        raise NotFoundError("Workspace not found.")
    return pk


async def _row(context: Context, loader: Any, global_id: str, type_name: str) -> Any:
    """The object's row through the viewer's scoped loaders: one they may not read is not found."""
    pk = pk_of(global_id, type_name)
    row = None if pk is None else await loader.load(pk)
    if row is None:
        raise NotFoundError(f"{type_name} not found.")
    return row


async def _start(
    context: Context, workspace_id: int, position: tuple[int, int] | None
) -> tuple[int, bool]:
    """The entry a subscription starts after, and whether it resumes from a cursor (one of its
    workspace, not ahead of the stream). Read now, as the client subscribes: what commits from
    here on is its to get, however long the server takes to start sending."""
    head = await stream_head(context.db, workspace_id)
    if position is None:
        return head, False
    cursor_workspace, entry_id = position
    if cursor_workspace != workspace_id:
        raise BadUserInputError("This cursor is of another workspace's stream.", argument="after")
    if entry_id > head:
        raise BadUserInputError("This cursor is ahead of the workspace's stream.", argument="after")
    return entry_id, True


NO_ONE_IN_PARTICULAR = 0
"""The user id events are read as: signed in, yet no account's (ids start at 1)."""


def subscriber_viewer(workspace_id: int, role: Role, *, can_write: bool) -> Viewer:
    """Who an event is read as: a signed-in member of the workspace with the subscriber's role
    (and a credential that may write, or not, as theirs), and no one in particular. Every
    subscriber of one document and role shares that one execution per event; fields about the
    viewer themselves (their API tokens) read as for any other member."""
    return Viewer(user_id=NO_ONE_IN_PARTICULAR, roles={workspace_id: role}, can_write=can_write)


@dataclass(slots=True)
class Event:
    """One mutation's entries about one subject, in stream order; `cursor_id` is its last
    entry's id (resume after it)."""

    subject_type: str
    subject_id: int
    entries: list[Any] = field(default_factory=list)

    @property
    def cursor_id(self) -> int:
        return int(self.entries[-1].id)

    @property
    def issue_id(self) -> int | None:
        issue_id = self.entries[-1].issue_id
        return None if issue_id is None else int(issue_id)

    @property
    def action(self) -> str:
        """DELETED or CREATED if the mutation did that; else its last entry's action."""
        actions = {entry.action for entry in self.entries}
        for decisive in ("DELETED", "CREATED"):
            if decisive in actions:
                return decisive
        return str(self.entries[-1].action)

    @property
    def fields(self) -> set[str]:
        return {entry.field for entry in self.entries if entry.field is not None}

    @property
    def columns(self) -> set[str]:
        """The issue columns this event of an issue changed (`labels` for its labels)."""
        columns = {_LOGGED_COLUMNS.get(name, name) for name in self.fields}
        if {entry.action for entry in self.entries} & {"ARCHIVED", "UNARCHIVED"}:
            columns.add("archived_at")
        if self.action != "CREATED":
            columns.add("updated_at")  # every change moves it, and the log does not say so
        return columns


def events_of(entries: Sequence[Any]) -> list[Event]:
    """The events of a run of entries (in stream order).

    >>> from types import SimpleNamespace as Entry
    >>> from datetime import datetime
    >>> at, later = datetime(2026, 1, 1), datetime(2026, 1, 2)
    >>> [(e.subject_id, [x.id for x in e.entries]) for e in events_of([
    ...     Entry(id=1, subject_type="Issue", subject_id=5, actor_id=1, created_at=at),
    ...     Entry(id=2, subject_type="Issue", subject_id=5, actor_id=1, created_at=at),
    ...     Entry(id=3, subject_type="Label", subject_id=9, actor_id=1, created_at=at),
    ...     Entry(id=4, subject_type="Issue", subject_id=5, actor_id=1, created_at=later),
    ... ])]
    [(5, [1, 2]), (9, [3]), (5, [4])]
    """
    events: list[Event] = []
    for entry in entries:
        last = events[-1] if events else None
        if (
            last is None
            or last.subject_type != entry.subject_type
            or last.subject_id != entry.subject_id
            or last.entries[-1].created_at != entry.created_at
            or last.entries[-1].actor_id != entry.actor_id
        ):
            last = Event(entry.subject_type, entry.subject_id)
            events.append(last)
        last.entries.append(entry)
    return events


def concerns(topic: Topic, event: Event) -> bool:
    """Whether an event is of `topic`'s kind and place, before its filter is evaluated."""
    if topic.kind == ACTIVITY:
        return topic.subject_types is None or event.subject_type in topic.subject_types
    if topic.kind == COMMENTS:
        return event.subject_type == "Comment" and event.issue_id == topic.issue_id
    if event.subject_type != "Issue":
        return False
    return topic.issue_id is None or event.subject_id == topic.issue_id
