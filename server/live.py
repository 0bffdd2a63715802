"""Live updates inside one server process: one `LISTEN` connection, one reader per workspace that
has subscribers here, and shared executions.

- **Source of truth.** The activity log. A notification only wakes the workspace's reader, which
  reads the log after the last entry it has (`db.subscriptions`), so a lost notification delays
  events and never loses them; after the listener reconnects, every reader reads what it missed.
- **Order, once.** A subscription starts after the stream's head as it subscribed (or after its
  cursor). A workspace's reader is the only one that delivers its live events, a batch at a
  time, and a subscriber is given an event only past its own position, so every subscriber gets
  every event in stream order, exactly once. A resumed subscription first catches up in a task
  of its own (`CatchUp`, a few at a time per process), then joins the reader, which replays the
  little committed since inside its loop: no gap and no duplicate at the seam, and no long replay
  holds up the workspace's live events.
- **Shared executions.** Subscribers with the same document, variables and role in the workspace
  (and, for a filter with `isMe`, the same user) form a group: each event is executed once per
  group (as a member with that role, see `resolvers.subscriptions.subscriber_viewer`), encoded
  once, and queued to each subscriber. A group whose document fails is ended alone.
- **Authorization at delivery.** A subscriber's role is read again when it joins, and whenever
  the log says a membership changed: a member removed gets an error and nothing more, one whose
  role changed moves to its new role's group. (Each connection also checks its credential and
  memberships again every `BACKLOG_WS_RECHECK_S`: `server.websocket`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from graphql import (
    SKIP,
    FieldNode,
    GraphQLError,
    VariableNode,
    Visitor,
    get_operation_ast,
    visit,
)

from core.enums import Role
from core.errors import NotFoundError
from db.session import DatabaseUnavailableError, StatementTimeoutError
from db.subscriptions import (
    issues_matching,
    read_entries,
    roles_in_workspace,
    stream_head,
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
CATCH_UPS = 4
"""Resumed subscriptions catching up at once in one process (one per user); more wait their
turn."""
ROOM_WAIT_S = 30.0
"""How long a catch-up waits for its client to make room in its connection's queue."""


class SubscriptionEnded(Exception):
    """Ends one subscription with an error the client is sent (its `error` message)."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


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
        self.position = topic.after_id
        """The id of the last entry of the workspace this subscriber was given or passed over."""
        self.document: DocumentNode | None = None
        self.variables: dict[str, Any] | None = None
        self.operation_name: str | None = None
        self.query = ""
        self._shared_variables = b"{}"
        self._queue: deque[str] = deque()
        self._ready = asyncio.Event()
        self._ended: SubscriptionEnded | None = None
        self._done = False
        self._taken = False
        self._sent = asyncio.Event()

    def attach(
        self,
        query: str,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> None:
        self.query, self.document = query, document
        self.variables, self.operation_name = variables, operation_name
        resume = resume_variable(document, operation_name)
        shared = {k: v for k, v in (variables or {}).items() if k != resume}
        self._shared_variables = orjson.dumps(shared, option=orjson.OPT_SORT_KEYS)

    @property
    def group_key(self) -> tuple[Any, ...]:
        """Who shares executions: the same document, variables (but the cursor it resumed
        from: clients reconnecting after a restart each bring their own) and role."""
        return (
            self.query,
            self.operation_name,
            self._shared_variables,
            self.role,
            self.can_write,
            self.me,
        )

    @property
    def me(self) -> int | None:
        """Who `isMe` is in the topic's filter (None when it has none: then anyone)."""
        issue_filter = self.topic.issue_filter
        return self.user_id if issue_filter is not None and issue_filter.mentions_viewer else None

    @property
    def ended(self) -> bool:
        return self._done

    def push(self, payload: str) -> None:
        if self._done:
            return
        if self.sink.queued >= self.sink.max_queued:
            self.sink.overflow()
            return
        self.sink.queued += 1
        self._queue.append(payload)
        self._ready.set()

    async def put(self, payload: str) -> None:
        """`push`, waiting (up to `ROOM_WAIT_S`) for room in its connection's queue first: for
        a catch-up, which may send a page at once to a client reading at its own pace."""
        deadline = asyncio.get_running_loop().time() + ROOM_WAIT_S
        while not self._done and self.sink.queued >= self.sink.max_queued:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break  # a client that reads nothing: `push` closes its connection
            self._sent.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent.wait(), left)
        self.push(payload)

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
            self._sent.set()
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
    me: int | None
    subscribers: set[Subscriber] = field(default_factory=set)
    matched: dict[int, bool] = field(default_factory=dict)
    """For issue topics: whether each issue matched at its last event, so that one that stops
    matching gets one last event (`matchesFilter: false`) and then no more."""


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
        self.catch_ups = asyncio.Semaphore(CATCH_UPS)
        self._catching_up: dict[Subscriber, asyncio.Task[None]] = {}
        self._catch_up_users: Counter[int | None] = Counter()
        self._user_locks: dict[int | None, asyncio.Lock] = {}

    def changed(self, workspace_id: int | None) -> None:
        """The listener's callback: `workspace_id`'s log grew (None: any may have)."""
        if workspace_id is None:
            for reader in self.readers.values():
                reader.wake()
        elif (woken := self.readers.get(workspace_id)) is not None:
            woken.wake()

    def join(self, subscriber: Subscriber) -> None:
        """Start delivering to `subscriber`: a resumed one catches up first."""
        if subscriber.topic.resumed:
            task = asyncio.create_task(self._catch_up(subscriber))
            self._catching_up[subscriber] = task
            task.add_done_callback(lambda _: self._catching_up.pop(subscriber, None))
        else:
            self._reader(subscriber.topic.workspace_id).join(subscriber)

    def _reader(self, workspace_id: int) -> WorkspaceReader:
        reader = self.readers.get(workspace_id)
        if reader is None:
            reader = self.readers[workspace_id] = WorkspaceReader(self, workspace_id)
        return reader

    async def _catch_up(self, subscriber: Subscriber) -> None:
        """One user's catch-ups run one at a time, and at most `CATCH_UPS` at once in the
        process, so no one holds up everyone's resumes. The database failing pauses one; it
        goes on from where it was once the database answers."""
        user = subscriber.user_id
        self._catch_up_users[user] += 1
        try:
            async with self._user_lock(user), self.catch_ups:
                while True:
                    try:
                        await CatchUp(self, subscriber).run()
                        break
                    except DatabaseUnavailableError:
                        await asyncio.sleep(RETRY_S)
        except SubscriptionEnded as ended:
            subscriber.end(ended.error)
            return
        except Exception as error:  # logged, and masked for the client, by `_error`
            subscriber.end(_error(error))
            return
        finally:
            self._catch_up_users[user] -= 1
            if self._catch_up_users[user] <= 0:
                del self._catch_up_users[user]
                self._user_locks.pop(user, None)
        if not subscriber.ended:
            self._reader(subscriber.topic.workspace_id).join(subscriber)

    def _user_lock(self, user: int | None) -> asyncio.Lock:
        lock = self._user_locks.get(user)
        if lock is None:
            lock = self._user_locks[user] = asyncio.Lock()
        return lock

    def leave(self, subscriber: Subscriber) -> None:
        """The subscription is over (completed, or its connection closed)."""
        subscriber.discard()
        catching_up = self._catching_up.pop(subscriber, None)
        if catching_up is not None:
            catching_up.cancel()
        reader = self.readers.get(subscriber.topic.workspace_id)
        if reader is not None:
            reader.leave(subscriber)

    async def stop(self) -> None:
        catching_up = list(self._catching_up.values())
        for task in catching_up:
            task.cancel()
        await asyncio.gather(*catching_up, return_exceptions=True)
        for reader in list(self.readers.values()):
            await reader.stop()


class Delivery:
    """What a reader and a catch-up share: making a group, and delivering events to groups."""

    def __init__(self, live: LiveUpdates, workspace_id: int) -> None:
        self.live = live
        self.workspace_id = workspace_id

    async def _role(self, db: RequestDatabase, subscriber: Subscriber) -> Role | None:
        """The subscriber's role in the workspace now (None: no longer a member)."""
        if subscriber.user_id is None:
            return None
        rows = await db.fetch_all(
            roles_in_workspace(),
            {"workspace_id": self.workspace_id, "user_ids": [subscriber.user_id]},
        )
        return Role(rows[0].role) if rows else None

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
        return Group(subscriber.topic, context, executor, subscriber.me)

    async def _deliver_to(
        self, db: RequestDatabase, group: Group, events: list[Event], *, patient: bool = False
    ) -> None:
        """Each event of the group's topic executed once, and queued to each of its subscribers
        not past it (`patient`: waiting for room in their queues). The database failing raises
        (the batch is read again); the group's own document failing raises `GroupFailed`."""
        group.context.db = db
        group.context.reload()
        sent, matched = await self._of_topic(db, group, events)
        for event, matches in sent:
            waiting = [s for s in group.subscribers if s.position < event.cursor_id]
            if not waiting:
                continue
            result = await execute_event(
                group.executor, event_value(group.topic, event, matches_filter=matches)
            )
            _raise_if_the_database_failed(result.errors)
            response: dict[str, Any] = {"data": result.data}
            if result.errors:
                response["errors"] = [e.formatted for e in client_errors(list(result.errors))]
            payload = orjson.dumps(response).decode()
            for subscriber in waiting:
                if patient:
                    await subscriber.put(payload)
                else:
                    subscriber.push(payload)
                subscriber.position = event.cursor_id
            # Its subscribers' connections send it before the next is queued: an event whose
            # execution read nothing would otherwise queue a whole page at once.
            await asyncio.sleep(0)
        # Only once delivered: a batch read again must send the same events.
        group.matched.update(matched)
        if len(group.matched) > MAX_REMEMBERED:
            # Forgotten issues fall back to the safe side: one more event than needed.
            group.matched.clear()

    async def _of_topic(
        self, db: RequestDatabase, group: Group, events: list[Event]
    ) -> tuple[list[tuple[Event, bool]], dict[int, bool]]:
        """The events the group's subscribers are sent, with whether each issue matches the
        topic's place and filter now (an issue that stopped matching is sent once more); and,
        for issue topics, what the group should remember of each issue once they are sent."""
        topic = group.topic
        ours = [event for event in events if concerns(topic, event)]
        if topic.kind == subscriptions.ACTIVITY:
            readable = group.context.viewer
            return [
                (event, True)
                for event in ours
                if (cls := node_type(event.subject_type)) is None
                or cls.readable_in(readable, self.workspace_id)
            ], {}
        if topic.kind != subscriptions.ISSUES:
            return [(event, True) for event in ours], {}
        issue_filter = topic.issue_filter
        assert issue_filter is not None
        ids = list({event.subject_id for event in ours if event.action != "DELETED"})
        projects: dict[int, int] = {}
        if ids:
            params = {"issue_ids": ids, **issue_filter.params()}
            if group.me is not None:
                params["scope_viewer_id"] = group.me
            rows = await db.fetch_all(issues_matching(issue_filter), params)
            projects = {int(row.id): int(row.project_id) for row in rows}
        # This batch's findings, kept apart from the group's memory (which may be large) until
        # the batch is delivered.
        matched: dict[int, bool] = {}

        def matched_before(issue_id: int, unknown: bool) -> bool:
            return matched.get(issue_id, group.matched.get(issue_id, unknown))

        sent: list[tuple[Event, bool]] = []
        for event in ours:
            project = projects.get(event.subject_id)
            matches = project is not None and topic.project_id in (None, project)
            if event.action == "DELETED":
                if matched_before(event.subject_id, True):
                    sent.append((event, False))
            elif matches:
                sent.append((event, True))
            elif matched_before(event.subject_id, _may_have_matched(topic, event)):
                # It matched at its last event (or may have, before this group knew it): the
                # view that shows it is told it left (archived ones leave unfiltered views).
                sent.append((event, False))
            matched[event.subject_id] = matches and event.action != "DELETED"
        return sent, matched


class CatchUp(Delivery):
    """A resumed subscription's replay of what it missed, up to the stream's head, through a
    group of its own (so a filter's memory starts from nothing), in a task of its own."""

    def __init__(self, live: LiveUpdates, subscriber: Subscriber) -> None:
        super().__init__(live, subscriber.topic.workspace_id)
        self.subscriber = subscriber

    async def run(self) -> None:
        subscriber = self.subscriber
        db = self.live.database.request_handle()
        try:
            group = self._group(db, subscriber)
            if group is None:
                return
            group.subscribers.add(subscriber)
            horizon = datetime.now(UTC) - timedelta(days=subscriptions.RETENTION_DAYS)
            first = True
            while not subscriber.ended:
                role = await self._role(db, subscriber)
                if role is None:
                    raise SubscriptionEnded(membership_ended())
                if role != subscriber.role:
                    # Delivered as the new role from here on: the reader takes over with it.
                    subscriber.role = role
                    return
                entries = await read_entries(db, self.workspace_id, subscriber.position, PAGE)
                if first and entries and entries[0].created_at < horizon:
                    raise SubscriptionEnded(_error(_expired()))
                first = False
                events, last = whole_events(entries)
                await self._deliver_to(db, group, events, patient=True)
                subscriber.position = max(subscriber.position, last)
                if len(entries) < PAGE:
                    return  # the reader replays what commits from here on
        except GroupFailed as failed:
            raise SubscriptionEnded(failed.error) from None
        finally:
            await db.close()


class GroupFailed(Exception):
    """A group's document could not be executed for an event (not the database's fault)."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


class WorkspaceReader(Delivery):
    """Reads one workspace's log for this process's subscribers, and delivers it in order."""

    def __init__(self, live: LiveUpdates, workspace_id: int) -> None:
        super().__init__(live, workspace_id)
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
            self.position = await stream_head(db, self.workspace_id)
        while self.joining:
            subscriber = self.joining[0]
            await self._admit(db, subscriber)
            # Taken off only once admitted: a failure leaves it to be admitted on the retry.
            if self.joining and self.joining[0] is subscriber:
                self.joining.pop(0)
        while self.groups:
            entries = await read_entries(db, self.workspace_id, self.position, PAGE)
            if not entries:
                return
            events, last = whole_events(entries)
            if any(_changes_access(event) for event in events):
                await self._authorize(db)
            for key, group in list(self.groups.items()):
                failure = await self._deliver_alone(db, group, events)
                if failure is not None:
                    self.groups.pop(key, None)
                    for subscriber in group.subscribers:
                        subscriber.end(failure)
            self.position = last
            if len(entries) < PAGE:
                return

    async def _deliver_alone(
        self, db: RequestDatabase, group: Group, events: list[Event]
    ) -> GraphQLError | None:
        """`_deliver_to`, with what fails because of the group's own document (a statement of
        its running too long, a fault of ours) kept to that group: the error its subscribers
        are ended with. The database failing still raises: the batch is read again."""
        try:
            await self._deliver_to(db, group, events)
        except DatabaseUnavailableError:
            raise
        except GroupFailed as failed:
            error = failed.error
        except Exception as unexpected:  # logged, and masked for the client, by `_error`
            error = _error(unexpected)
        else:
            return None
        await db.rollback()  # the failed statement aborted the transaction the others share
        return error

    async def _admit(self, db: RequestDatabase, subscriber: Subscriber) -> None:
        """A subscriber joins, with its role read now; what committed between where it starts
        and this reader's position is replayed to it first."""
        assert self.position is not None
        if subscriber.ended:
            return
        role = await self._role(db, subscriber)
        if role is None:
            subscriber.end(membership_ended())
            return
        subscriber.role = role
        if subscriber.position < self.position:
            await self._replay(db, subscriber)
        if not subscriber.ended:
            self._enter_group(db, subscriber)

    async def _replay(self, db: RequestDatabase, subscriber: Subscriber) -> None:
        """What committed since the subscriber's position, up to this reader's, through a group
        of its own."""
        assert self.position is not None
        group = self._group(db, subscriber)
        if group is None:
            return
        group.subscribers.add(subscriber)
        while subscriber.position < self.position and not subscriber.ended:
            entries = await read_entries(db, self.workspace_id, subscriber.position, PAGE)
            entries = [entry for entry in entries if entry.id <= self.position]
            if not entries:
                break
            events, last = whole_events(entries, complete=len(entries) < PAGE)
            failure = await self._deliver_alone(db, group, events)
            if failure is not None:
                subscriber.end(failure)
                return
            subscriber.position = max(subscriber.position, last)
        subscriber.position = max(subscriber.position, self.position)

    def _enter_group(self, db: RequestDatabase, subscriber: Subscriber) -> None:
        """Into the group of its document, variables and role, made if it is the first."""
        group = self.groups.get(subscriber.group_key)
        if group is None:
            group = self._group(db, subscriber)
            if group is None:
                return
            self.groups[subscriber.group_key] = group
        group.subscribers.add(subscriber)

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
            if subscriber.ended:  # it left while the roles were read
                continue
            role = roles.get(subscriber.user_id) if subscriber.user_id is not None else None
            if role == subscriber.role:
                continue
            self.leave(subscriber)
            if role is None:
                subscriber.end(membership_ended())
                continue
            subscriber.role = role
            self._enter_group(db, subscriber)


def resume_variable(document: DocumentNode, operation_name: str | None) -> str | None:
    """The variable the root field's `after` takes, if nothing else in the document reads it:
    an event executes alike whatever its value (the root field's value is the event)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    named = [
        argument.value.name.value
        for selection in operation.selection_set.selections
        if isinstance(selection, FieldNode)
        for argument in selection.arguments or ()
        if argument.name.value == "after" and isinstance(argument.value, VariableNode)
    ]
    if len(named) != 1:
        return None
    uses = _VariableUses()
    visit(document, uses)
    return named[0] if uses.count[named[0]] == 1 else None


class _VariableUses(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.count: Counter[str] = Counter()

    def enter_variable_definition(self, *_: Any) -> Any:
        return SKIP  # a definition, not a use

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.count[node.name.value] += 1


def whole_events(
    entries: Sequence[Any], *, complete: bool | None = None
) -> tuple[list[Event], int]:
    """The events of a page of entries, and the id the page ends at. A full page may have cut
    its last mutation's entries of one object in two: that event is left for the next page
    (unless it is the page's only one), so an event always carries all of its changes."""
    events = events_of(entries)
    if not entries:
        return [], 0
    full = len(entries) >= PAGE if complete is None else not complete
    if full and len(events) > 1:
        events.pop()
        return events, events[-1].cursor_id
    return events, int(entries[-1].id)


def _may_have_matched(topic: Topic, event: Event) -> bool:
    """For an issue the group has not seen yet, which does not match now: whether it may have
    before this event (then it is told it left). A new one cannot have, nor one whose event
    changed nothing the topic's filter and place read."""
    if event.action == "CREATED":
        return False
    read = topic.issue_filter.columns if topic.issue_filter is not None else frozenset()
    if topic.project_id is not None:
        read |= {"project_id"}
    return bool(read & event.columns)


def _raise_if_the_database_failed(errors: Sequence[GraphQLError] | None) -> None:
    """The database failing is not the group's fault: the batch is read again once it answers
    (subscribers given its earlier events are not given them twice). A statement of the
    group's own running too long is (`GroupFailed`)."""
    for error in errors or ():
        original = error.original_error
        if isinstance(original, DatabaseUnavailableError):
            raise original
        if isinstance(original, StatementTimeoutError):
            raise GroupFailed(_error(original))


def _changes_access(event: Event) -> bool:
    """A membership created, changed or removed. (A workspace's deletion is logged nowhere: its
    entries go with it; each connection's recheck ends its subscriptions.)"""
    return event.subject_type == "Membership"


def membership_ended() -> GraphQLError:
    """What a subscription is ended with when its viewer is no longer a member of its
    workspace: the workspace is then, to them, not found."""
    return _error(NotFoundError("Workspace not found: you are no longer a member."))


def _expired() -> CursorExpiredError:
    return CursorExpiredError(
        f"This cursor is older than {subscriptions.RETENTION_DAYS} days: refetch, then "
        "subscribe without `after`.",
        argument="after",
    )


def _error(error: Exception) -> GraphQLError:
    [masked] = client_errors([GraphQLError(str(error), original_error=error)])
    return masked
