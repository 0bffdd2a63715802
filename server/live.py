"""Live updates inside one server process: one `LISTEN` connection, one reader per workspace that
has subscribers here, and shared executions.

- **Source of truth.** The activity log. A notification only wakes the workspace's reader, which
  reads the log after the last entry it has (`db.stream`), so a lost notification delays events
  and never loses them; after the listener reconnects, every reader reads what it missed.
- **Order, once.** A workspace's reader is the only one that moves its position and delivers its
  events, one batch at a time, so every subscriber gets every event in stream order, exactly once.
  A subscriber joins, and a resumed one replays what it missed, inside that same reader, so there
  is no gap and no duplicate at the seam.
- **Shared executions.** Subscribers with the same document, variables and role in the workspace
  form a group: each event is executed once per group (as a member with that role, see
  `resolvers.subscriptions.subscriber_viewer`), encoded once, and queued to each subscriber.
- **Authorization at delivery.** Roles are read again whenever the log says a membership
  changed: a member removed gets an error and nothing more, one whose role changed moves to its
  new role's group.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from graphql import GraphQLError

from core.enums import Role
from core.errors import NotFoundError
from db.session import DatabaseUnavailableError, StatementTimeoutError
from db.subscriptions import (
    issues_matching,
    last_entry_id,
    read_entries,
    roles_in_workspace,
)
from execution.subscriptions import event_executor, execute_event
from resolvers import subscriptions
from resolvers.context import Context
from resolvers.subscriptions import (
    CursorExpiredError,
    Event,
    Topic,
    concerns,
    events_of,
    subscriber_viewer,
)
from schema.node import node_type
from schema.subscriptions import event_value
from server.errors import client_errors

if TYPE_CHECKING:
    from collections.abc import Sequence

    from graphql import DocumentNode, Executor
    from strawberry import Schema

    from auth.tokens import AccessTokenIssuer
    from auth.viewer import Viewer
    from db.session import Database, RequestDatabase
    from server.settings import Settings

logger = logging.getLogger("backlog.live")

PAGE = 500
"""Entries a reader reads per statement (a busy workspace's backlog is read in pages)."""
MAX_REMEMBERED = 100_000
"""Issues whose last match a filtered group remembers (a few MB at most)."""
RETRY_S = 1.0
"""How long a reader waits before reading again after the database failed it."""


class SubscriptionEnded(Exception):
    """Ends one subscription with an error the client is sent (its `error` message)."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


class Overflow(Exception):
    """A connection's queue is full: its client reads slower than events come."""


class Sink(Protocol):
    """Where a subscriber's events go: its connection, which bounds what it holds queued."""

    queued: int
    max_queued: int

    def overflow(self) -> None:
        """Called instead of queueing one more: the connection is closed."""


class Subscriber:
    """One subscription: its topic and viewer, the group it is in, and its queue of encoded
    payloads. Iterating it yields them one by one until it ends."""

    def __init__(self, sink: Sink, topic: Topic, viewer: Viewer) -> None:
        self.sink = sink
        self.topic = topic
        self.user_id = viewer.user_id
        self.can_write = viewer.can_write
        role = viewer.role_in(topic.workspace_id)
        assert role is not None  # the resolver checked the viewer may read the workspace
        self.role: Role = role
        self.position = 0
        """The id of the last entry of the workspace this subscriber was given or passed over."""
        self.document: DocumentNode | None = None
        self.variables: dict[str, Any] | None = None
        self.operation_name: str | None = None
        self.query = ""
        self._queue: deque[str] = deque()
        self._ready = asyncio.Event()
        self._ended: SubscriptionEnded | None = None
        self._done = False
        self._taken = False

    def attach(
        self,
        query: str,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> None:
        self.query, self.document = query, document
        self.variables, self.operation_name = variables, operation_name

    @property
    def group_key(self) -> tuple[Any, ...]:
        variables = orjson.dumps(self.variables or {}, option=orjson.OPT_SORT_KEYS)
        return (self.query, self.operation_name, variables, self.role, self.can_write)

    def push(self, payload: str) -> None:
        if self._done:
            return
        if self.sink.queued >= self.sink.max_queued:
            self.sink.overflow()
            return
        self.sink.queued += 1
        self._queue.append(payload)
        self._ready.set()

    def end(self, error: GraphQLError | None = None) -> None:
        """No more events: after what is queued, the stream stops (with `error`, if given)."""
        if not self._done:
            self._done = True
            self._ended = SubscriptionEnded(error) if error is not None else None
            self._ready.set()

    def discard(self) -> None:
        """Ended, and what it still holds no longer counts against its connection's queue."""
        self.end()
        self.sink.queued -= len(self._queue) + self._taken
        self._queue.clear()
        self._taken = False

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> str:
        """The next encoded payload; it counts as queued until the one after is asked for,
        that is, until it was sent."""
        if self._taken:
            self._taken = False
            self.sink.queued -= 1
        while not self._queue:
            if self._done:
                if self._ended is not None:
                    raise self._ended
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        self._taken = True
        return self._queue.popleft()


@dataclass(eq=False)
class Group:
    """Subscribers of one workspace with the same document, variables and role."""

    topic: Topic
    context: Context
    executor: Executor[Any]
    subscribers: set[Subscriber] = field(default_factory=set)
    matched: dict[int, bool] = field(default_factory=dict)
    """For filtered issue topics: whether each issue matched at its last event, so that one
    that stops matching gets one last event (`matchesFilter: false`) and then no more."""


class LiveUpdates:
    """This process's live updates: the listener's callback, and one reader per workspace."""

    def __init__(
        self,
        schema: Schema,
        settings: Settings,
        database: Database,
        access_tokens: AccessTokenIssuer,
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.database = database
        self.access_tokens = access_tokens
        self.readers: dict[int, WorkspaceReader] = {}

    def changed(self, workspace_id: int | None) -> None:
        """The listener's callback: `workspace_id`'s log grew (None: any may have)."""
        if workspace_id is None:
            for reader in self.readers.values():
                reader.wake()
        elif (woken := self.readers.get(workspace_id)) is not None:
            woken.wake()

    def join(self, subscriber: Subscriber) -> None:
        workspace_id = subscriber.topic.workspace_id
        reader = self.readers.get(workspace_id)
        if reader is None:
            reader = self.readers[workspace_id] = WorkspaceReader(self, workspace_id)
        reader.join(subscriber)

    def leave(self, subscriber: Subscriber) -> None:
        """The subscription is over (completed, or its connection closed)."""
        subscriber.discard()
        reader = self.readers.get(subscriber.topic.workspace_id)
        if reader is not None:
            reader.leave(subscriber)

    async def stop(self) -> None:
        for reader in list(self.readers.values()):
            await reader.stop()


class WorkspaceReader:
    """Reads one workspace's log for this process's subscribers, and delivers it in order."""

    def __init__(self, live: LiveUpdates, workspace_id: int) -> None:
        self.live = live
        self.workspace_id = workspace_id
        self.position: int | None = None
        self.groups: dict[tuple[Any, ...], Group] = {}
        self.joining: list[Subscriber] = []
        self._woken = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"live-{workspace_id}")

    def wake(self) -> None:
        self._woken.set()

    def join(self, subscriber: Subscriber) -> None:
        self.joining.append(subscriber)
        self.wake()

    def leave(self, subscriber: Subscriber) -> None:
        if subscriber in self.joining:
            self.joining.remove(subscriber)
        for key, group in list(self.groups.items()):
            group.subscribers.discard(subscriber)
            if not group.subscribers:
                del self.groups[key]
        if self.idle:
            self.wake()  # to see it is idle, and end

    @property
    def idle(self) -> bool:
        return not self.groups and not self.joining

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self._woken.wait()
            self._woken.clear()
            db = self.live.database.request_handle()
            try:
                await self._step(db)
            except (DatabaseUnavailableError, StatementTimeoutError, OSError) as error:
                logger.warning("live updates of workspace %s paused: %s", self.workspace_id, error)
                await asyncio.sleep(RETRY_S)
                self.wake()
            except Exception:
                logger.exception("live updates of workspace %s failed", self.workspace_id)
                await asyncio.sleep(RETRY_S)
                self.wake()
            finally:
                await db.close()
            if self.idle and self.live.readers.get(self.workspace_id) is self:
                del self.live.readers[self.workspace_id]
                return

    async def _step(self, db: RequestDatabase) -> None:
        if self.position is None:
            self.position = int(
                await db.scalar(last_entry_id(), {"workspace_id": self.workspace_id})
            )
        while self.joining:
            await self._admit(db, self.joining.pop(0))
        while self.groups:
            entries = await read_entries(db, self.workspace_id, self.position, PAGE)
            if not entries:
                return
            await self._deliver(db, events_of(entries))
            self.position = int(entries[-1].id)
            if len(entries) < PAGE:
                return

    async def _admit(self, db: RequestDatabase, subscriber: Subscriber) -> None:
        """A subscriber joins at this reader's position, after replaying what it missed if it
        resumes from a cursor."""
        assert self.position is not None
        after = subscriber.topic.after_id
        if after is None:
            # Live from now: not from this reader's position, which may lag behind what was
            # committed before the client subscribed.
            now = await db.scalar(last_entry_id(), {"workspace_id": self.workspace_id})
            subscriber.position = max(self.position, int(now))
        elif after >= self.position:
            subscriber.position = after
        else:
            try:
                await self._replay(db, subscriber, after)
            except SubscriptionEnded as ended:
                subscriber.end(ended.error)
                return
        self._enter_group(db, subscriber)

    def _enter_group(self, db: RequestDatabase, subscriber: Subscriber) -> None:
        """Into the group of its document, variables and role, made if it is the first."""
        group = self.groups.get(subscriber.group_key)
        if group is None:
            group = self._group(db, subscriber)
            if group is None:
                return
            self.groups[subscriber.group_key] = group
        group.subscribers.add(subscriber)

    async def _replay(self, db: RequestDatabase, subscriber: Subscriber, after: int) -> None:
        """What `subscriber` missed after entry `after`, up to this reader's position, through a
        group of its own (so the filter's memory starts from nothing)."""
        assert self.position is not None
        group = self._group(db, subscriber)
        if group is None:
            return
        group.subscribers.add(subscriber)
        subscriber.position = after
        horizon = datetime.now(UTC) - timedelta(days=subscriptions.RETENTION_DAYS)
        first = True
        while subscriber.position < self.position:
            entries = await read_entries(db, self.workspace_id, subscriber.position, PAGE)
            entries = [entry for entry in entries if entry.id <= self.position]
            if not entries:
                break
            if first and entries[0].created_at < horizon:
                raise SubscriptionEnded(
                    _error(
                        CursorExpiredError(
                            f"This cursor is older than {subscriptions.RETENTION_DAYS} days: "
                            "refetch, then subscribe without `after`.",
                            argument="after",
                        )
                    )
                )
            first = False
            await self._deliver(db, events_of(entries), replay=group)
            subscriber.position = int(entries[-1].id)
        subscriber.position = self.position

    def _group(self, db: RequestDatabase, subscriber: Subscriber) -> Group | None:
        live = self.live
        viewer = subscriber_viewer(
            self.workspace_id, subscriber.role, can_write=subscriber.can_write
        )
        context = Context.for_request(None, db, viewer, live.settings, live.access_tokens)
        assert subscriber.document is not None
        executor = event_executor(
            live.schema,
            subscriber.document,
            context,
            subscriber.variables,
            subscriber.operation_name,
        )
        if isinstance(executor, list):  # its variables were coerced when it subscribed
            subscriber.end(client_errors(executor)[0])
            return None
        return Group(subscriber.topic, context, executor)

    async def _deliver(
        self, db: RequestDatabase, events: list[Event], replay: Group | None = None
    ) -> None:
        """`events` to every group, or to the one group of a subscriber replaying."""
        if replay is None and any(_changes_access(event) for event in events):
            await self._authorize(db)
        for group in [replay] if replay is not None else list(self.groups.values()):
            group.context.db = db
            group.context.reload()
            for event, matches in await self._of_topic(db, group, events):
                result = await execute_event(
                    group.executor, event_value(group.topic, event, matches_filter=matches)
                )
                _raise_if_the_database_failed(result.errors)
                response: dict[str, Any] = {"data": result.data}
                if result.errors:
                    response["errors"] = [e.formatted for e in client_errors(list(result.errors))]
                payload = orjson.dumps(response).decode()
                for subscriber in list(group.subscribers):
                    if subscriber.position < event.cursor_id:
                        subscriber.push(payload)
                        subscriber.position = event.cursor_id

    async def _of_topic(
        self, db: RequestDatabase, group: Group, events: list[Event]
    ) -> list[tuple[Event, bool]]:
        """The events the group's subscribers are sent, with whether each issue matches the
        topic's place and filter now (an issue that stopped matching is sent once more)."""
        topic = group.topic
        ours = [event for event in events if concerns(topic, event)]
        if topic.kind == subscriptions.ACTIVITY:
            readable = group.context.viewer
            return [
                (event, True)
                for event in ours
                if (cls := node_type(event.subject_type)) is None
                or cls.readable_in(readable, self.workspace_id)
            ]
        if topic.kind != subscriptions.ISSUES:
            return [(event, True) for event in ours]
        issue_filter = topic.issue_filter
        assert issue_filter is not None
        ids = list({event.subject_id for event in ours if event.action != "DELETED"})
        matching: set[int] = set()
        if ids:
            rows = await db.fetch_all(
                issues_matching(issue_filter), {"issue_ids": ids, **issue_filter.params()}
            )
            matching = {
                int(row.id)
                for row in rows
                if topic.project_id is None or row.project_id == topic.project_id
            }
        sent: list[tuple[Event, bool]] = []
        for event in ours:
            matches = event.subject_id in matching
            if event.action == "DELETED" or matches:
                sent.append((event, matches))
            elif group.matched.get(event.subject_id, event.action != "CREATED"):
                # It matched at its last event (or may have, before this group knew it): the
                # view that shows it is told it left (archived ones leave unfiltered views).
                sent.append((event, False))
            group.matched[event.subject_id] = matches
        if len(group.matched) > MAX_REMEMBERED:
            # Forgotten issues fall back to the safe side: one more event than needed.
            group.matched.clear()
        return sent

    async def _authorize(self, db: RequestDatabase) -> None:
        """Roles read again: a subscriber removed from the workspace is ended, one whose role
        changed moves to its new role's group."""
        subscribers = [s for group in self.groups.values() for s in group.subscribers]
        user_ids = list({s.user_id for s in subscribers if s.user_id is not None})
        rows = await db.fetch_all(
            roles_in_workspace(), {"workspace_id": self.workspace_id, "user_ids": user_ids}
        )
        roles = {int(row.user_id): Role(row.role) for row in rows}
        for subscriber in subscribers:
            role = roles.get(subscriber.user_id) if subscriber.user_id is not None else None
            if role == subscriber.role:
                continue
            self.leave(subscriber)
            if role is None:
                subscriber.end(
                    _error(NotFoundError("Workspace not found: you are no longer a member."))
                )
                continue
            subscriber.role = role
            self._enter_group(db, subscriber)


def _raise_if_the_database_failed(errors: Sequence[GraphQLError] | None) -> None:
    """An event whose objects could not be read is not sent with errors in their place: the
    batch is read again once the database answers (subscribers given its earlier events are
    not given them twice)."""
    for error in errors or ():
        if isinstance(error.original_error, DatabaseUnavailableError | StatementTimeoutError):
            raise error.original_error


def _changes_access(event: Event) -> bool:
    return event.subject_type == "Membership" or (
        event.subject_type == "Workspace" and event.action == "DELETED"
    )


def _error(error: Exception) -> GraphQLError:
    [masked] = client_errors([GraphQLError(str(error), original_error=error)])
    return masked
