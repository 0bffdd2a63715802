"""`Workspace.changes`: delta sync. What changed in a workspace since a cursor, read from its
activity log: the changed objects as they are now, tombstones for the deleted ones, and the
cursor to pass next time.

Whatever `first` is, one statement reads the entries (the workspace's `activity` relation, a
page `after` the cursor) and one batch per type of object changed reads the objects, through the
same scoped loaders as `node(id:)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from core.errors import BadUserInputError
from core.ids import to_global_id
from db.loaders import PageKey
from db.pagination import InvalidCursorError, PageArgs, decode_cursor, encode_cursor
from resolvers.changes import DEFAULT_CHANGES, MAX_CHANGES, changes_limit, last_changes
from resolvers.context import Context
from schema import orderings
from schema.activity import nodes_by_reference
from schema.node import Node, node_type

if TYPE_CHECKING:
    from collections.abc import Sequence

    from db.pagination import Page
    from resolvers.changes import LastChange


@strawberry.type(
    description="What changed in a workspace since a cursor: apply `nodes` by `id`, drop "
    "`deletedIds`, keep `cursor` for next time, and ask again while `hasMore`."
)
class ChangeSet:
    nodes: list[Node] = strawberry.field(
        description="The objects changed, each once, as they are now, in the order of their "
        "last change: issues, comments, projects, labels, workflow states, memberships, the "
        "workspace itself, and invitations if you may invite."
    )
    deleted_ids: list[strawberry.ID] = strawberry.field(
        description="The IDs of the objects deleted (or gone since), each once: tombstones."
    )
    cursor: str = strawberry.field(
        description="Where this change set ends in the workspace's stream: pass it as `since` "
        "next time (the same cursor when nothing changed)."
    )
    has_more: bool = strawberry.field(
        description="Whether changes follow `cursor` already: ask again with `since: cursor`."
    )


@dataclass(frozen=True, slots=True)
class _Position:
    """A place in a workspace's stream: after its entry `id` (0 before the first)."""

    workspace_id: int
    id: int


def stream_cursor(workspace_id: int, entry_id: int) -> str:
    """A place in a workspace's stream, after its entry `entry_id`: what `changes` and every
    subscription event hand out, and `since:` / `after:` take back."""
    return encode_cursor(_Position(workspace_id, entry_id), orderings.CHANGES)


def stream_position(cursor: str, argument: str) -> tuple[int, int]:
    """(workspace id, entry id) of a `stream_cursor`; BAD_USER_INPUT naming `argument` if it
    is not one."""
    try:
        workspace_id, entry_id = decode_cursor(cursor, orderings.CHANGES)
    except InvalidCursorError as error:
        raise BadUserInputError(
            f"`{cursor}` is not a cursor of a workspace's stream.", argument=argument
        ) from error
    return workspace_id, entry_id


async def workspace_changes(
    workspaces: Sequence[Any],
    context: Context,
    since: Annotated[
        str | None,
        strawberry.argument(
            description="The `cursor` of the last change set applied; null for the cursor of "
            "the stream's head, with no changes (take it before loading the data it will "
            "bring up to date)."
        ),
    ] = None,
    first: Annotated[
        int | None,
        strawberry.argument(
            description=f"How many entries of the activity log to read ({DEFAULT_CHANGES} "
            f"unless given, at most {MAX_CHANGES}); each object changed comes once, so there "
            "are at most as many objects."
        ),
    ] = None,
) -> list[ChangeSet | Exception]:
    """The batch resolver of `Workspace.changes`: the entries of every workspace of a level in
    one statement, their objects in one batch per type."""
    limit = changes_limit(first)
    activity = context.loaders.activity_of_workspace
    if since is None:
        last = PageArgs(limit=1, forward=False)
        heads = await activity.pages.load_many(
            [PageKey(w.pk, orderings.ACTIVITY, last) for w in workspaces]
        )
        return [
            ChangeSet(nodes=[], deleted_ids=[], cursor=_end(w.pk, page, 0), has_more=False)
            for w, page in zip(workspaces, heads, strict=True)
        ]
    position = _Position(*stream_position(since, "since"))
    # Only the cursor's own workspace is read: its entry ids mean nothing in another's stream.
    ours = [w.pk for w in workspaces if w.pk == position.workspace_id]
    after = PageArgs(limit=limit, after=(position.id,))
    pages = await activity.pages.load_many([PageKey(pk, orderings.ACTIVITY, after) for pk in ours])
    changes = {
        pk: _readable(context, pk, last_changes(page.rows))
        for pk, page in zip(ours, pages, strict=True)
    }
    live = [(c.subject_type, c.subject_id) for cs in changes.values() for c in cs if not c.deleted]
    found = dict(zip(live, await nodes_by_reference(live, context), strict=True))
    sets = {
        pk: _change_set(changes[pk], found, _end(pk, page, position.id), page.has_next_page)
        for pk, page in zip(ours, pages, strict=True)
    }
    foreign = BadUserInputError("This cursor is of another workspace's changes.", argument="since")
    return [sets.get(w.pk, foreign) for w in workspaces]


def _change_set(
    changes: list[LastChange], found: dict[tuple[str, int], Any], cursor: str, has_more: bool
) -> ChangeSet:
    """Each change's object as `found` now, or its tombstone if it was deleted or is gone."""
    change_set = ChangeSet(nodes=[], deleted_ids=[], cursor=cursor, has_more=has_more)
    for change in changes:
        subject = (change.subject_type, change.subject_id)
        node = None if change.deleted else found[subject]
        if node is not None:
            change_set.nodes.append(node)
        else:
            change_set.deleted_ids.append(strawberry.ID(to_global_id(*subject)))
    return change_set


def _end(workspace_id: int, page: Page, before: int) -> str:
    """The cursor after the page's last entry; after `before` if it has none."""
    return stream_cursor(workspace_id, page.rows[-1].id if page.rows else before)


def _readable(context: Context, workspace_id: int, changes: list[LastChange]) -> list[LastChange]:
    """The changes of objects whose type the viewer may read in the workspace: what they may
    not read is left out, not tombstoned (an ID of it would tell it exists)."""
    readable = {
        type_name: cls is not None and cls.readable_in(context.viewer, workspace_id)
        for type_name in {change.subject_type for change in changes}
        for cls in [node_type(type_name)]
    }
    return [change for change in changes if readable[change.subject_type]]
