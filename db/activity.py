"""Writing the activity log: one ordered stream of changes per workspace.

Within a workspace, rows get their ids in commit order: the statement that appends a mutation's
rows first takes the transaction-level advisory lock of each workspace they belong to
(`stream_lock_of`), held until commit. Without it two transactions could take ids 7 and 8 and
commit 8 first, and a reader that had seen 8 would never see 7. Every reader of the log reads
one workspace (`workspace.activity`, `workspace.changes`, an issue's history), so a reader of
workspace W that has seen id N never later finds a smaller id of W; ids of different workspaces
interleave in any order, and their writes never wait on each other here. A mutation that
appends to several workspaces (`issueBatchUpdate` across workspaces) takes their locks in
ascending order, so two of them cannot deadlock. Appending is the last statement of every
mutation, so the locks are held for one round trip and the commit.

Each commit also sends NOTIFY on `CHANNEL`, once per workspace it appended to, with the payload
`"<workspace id>:<highest id it appended in that workspace>"` (PostgreSQL delivers it on commit
only): it is there for live updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import BigInteger, Integer, String, bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY

from db.queries import activity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Select

    from db.session import RequestDatabase

CHANNEL = "backlog_activity"
"""The NOTIFY channel; each payload is `"<workspace id>:<highest id>"`, one per workspace a
transaction appended to."""
STREAM_LOCK_CLASS = 0x626B6C67  # "bklg": the first int4 of every workspace's stream lock
"""Advisory locks keyed by two int4 live apart from those keyed by one bigint
(`db.writes.advisory_locks`, migrations), so no other lock of the project can collide with a
stream's."""

_INT4 = 2**32


def stream_key(workspace_id: int) -> int:
    """The second int4 of `workspace_id`'s stream lock: the id itself (an id past 2**31 wraps
    around and shares a smaller one's lock, which only makes the two queue together)."""
    return (workspace_id + _INT4 // 2) % _INT4 - _INT4 // 2


def stream_lock_of(workspace_id: int) -> Select[Any]:
    """The statement that takes `workspace_id`'s stream lock until the transaction ends, as the
    append does: holding it pauses that workspace's mutations at their append (tests do)."""
    return select(func.pg_advisory_xact_lock(STREAM_LOCK_CLASS, stream_key(workspace_id)))


Logged: TypeAlias = str | None
"""A value as `from_value` and `to_value` hold it: text as `logged` writes it, or None (no value,
or one the log does not keep, like a description)."""


SUBJECT_TYPES = (
    "Issue",
    "Comment",
    "Project",
    "Label",
    "WorkflowState",
    "Workspace",
    "Membership",
    "Invitation",
    "Webhook",
)
"""The API's types of the objects whose changes the log records (each `Change.subject_type`)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One entry: `action` on a subject, and for updates which `field` went `from` → `to`."""

    workspace_id: int
    subject_type: str
    """The API's type of the object changed (`Issue`, `Comment`, `Webhook`...)."""
    subject_id: int
    action: str
    """What happened, as the API's `ActivityAction` names it (CREATED, UPDATED, DELETED...)."""
    field: str | None = None
    """The field `from_value` and `to_value` are of, named as in the API (`state`, `labels`)."""
    from_value: Logged = None
    to_value: Logged = None
    issue_id: int | None = None
    """The issue the change belongs to (an issue's or its comment's): its history lists it."""
    previous_text: str | None = None
    """What an edit replaced when the log does not keep it (an issue's description, a comment's
    body): for the mutation's reactions (new mentions), never written to the log."""

    def __post_init__(self) -> None:
        # Subscriptions' `subjectTypes` are checked against SUBJECT_TYPES: a type missing there
        # could not be asked for.
        if self.subject_type not in SUBJECT_TYPES:
            raise ValueError(f"{self.subject_type!r} is not one of db.activity.SUBJECT_TYPES")


def issue_updated(
    workspace_id: int, issue_id: int, field: str, from_value: Logged, to_value: Logged
) -> Change:
    """An issue's `field` went `from_value` → `to_value`: by its own update, or by a change to
    what it pointed at (its label, state or parent deleted)."""
    return Change(
        workspace_id,
        "Issue",
        issue_id,
        "UPDATED",
        issue_id=issue_id,
        field=field,
        from_value=from_value,
        to_value=to_value,
    )


REFERENCES = {
    "state": "WorkflowState",
    "assignee": "User",
    "parent": "Issue",
    "project": "Project",
    "labels": "Label",
    "lead": "User",
    "states": "WorkflowState",
}
"""The fields whose logged values are keys, and the type of object they name (the API shows them
as global IDs; `labels` and `states` values may be comma-separated lists)."""


def logged(value: Any) -> Logged:
    """How a value is written in `from_value`/`to_value`: keys and numbers as decimal text,
    enums by name, dates in ISO 8601."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


_COLUMNS = (
    ("workspace_id", BigInteger),
    ("subject_type", String),
    ("subject_id", BigInteger),
    ("action", String),
    ("issue_id", BigInteger),
    ("field", String),
    ("from_value", String),
    ("to_value", String),
)


@cache
def _append() -> Select[Any]:
    # One row once every lock is held: the count reads the keys in the order given (ascending).
    key = func.unnest(bindparam("stream_keys", type_=ARRAY(Integer))).column_valued("key")
    locked = select(
        func.count(func.pg_advisory_xact_lock(literal(STREAM_LOCK_CLASS, Integer), key)).label(
            "locked"
        )
    ).cte("stream_locks")
    rows = select(
        *(func.unnest(bindparam(name, type_=ARRAY(kind))) for name, kind in _COLUMNS),
        bindparam("actor_id", type_=BigInteger),
    ).select_from(locked)
    appended = (
        insert(activity)
        .from_select([name for name, _ in _COLUMNS] + ["actor_id"], rows)
        .returning(activity.c.workspace_id, activity.c.id)
        .cte("appended")
    )
    last_id = func.max(appended.c.id)
    payload = appended.c.workspace_id.cast(String) + literal(":", String) + last_id.cast(String)
    return (
        select(
            func.pg_notify(CHANNEL, payload).label("notified"),
            appended.c.workspace_id,
            last_id.label("last_id"),
        )
        .group_by(appended.c.workspace_id)
        .order_by(appended.c.workspace_id)
    )


async def append(db: RequestDatabase, actor_id: int | None, changes: Sequence[Change]) -> None:
    """Append `changes`, in order, as one statement that first takes the stream lock of each
    workspace among them; call it last, just before committing."""
    if not changes:
        return
    params: dict[str, Any] = {
        name: [getattr(change, name) for change in changes] for name, _ in _COLUMNS
    }
    keys = sorted({stream_key(change.workspace_id) for change in changes})
    await db.fetch_all(_append(), {**params, "actor_id": actor_id, "stream_keys": keys})
