"""Writing the activity log: the single ordered stream of every change.

Rows get their ids in commit order: the statement that appends a mutation's rows first takes one
transaction-level advisory lock, held until commit. Without it two transactions could take ids 7
and 8 and commit 8 first, and a reader that had seen 8 would never see 7. Appending is the last
statement of every mutation, so the lock is held for one round trip and the commit.
Each commit also sends NOTIFY on `CHANNEL` with the highest id it appended (PostgreSQL delivers
it on commit only); nothing listens yet: it is there for live updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, String, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY

from db import models

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Select

    from db.session import RequestDatabase

activity = models.table_of(models.Activity)

CHANNEL = "backlog_activity"
"""The NOTIFY channel; its payload is the highest id a transaction appended."""
STREAM_LOCK = 0x6261636B6C6F67  # "backlog": the advisory lock that orders the stream


@dataclass(frozen=True, slots=True)
class Change:
    """One entry: `action` on a subject, and for updates which `field` went `from` → `to`."""

    workspace_id: int
    subject_type: str
    subject_id: int
    action: str
    issue_id: int | None = None
    field: str | None = None
    from_value: str | None = None
    to_value: str | None = None


def issue_updated(
    workspace_id: int, issue_id: int, field: str, from_value: str | None, to_value: str | None
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


def logged(value: Any) -> str | None:
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
    locked = select(func.pg_advisory_xact_lock(STREAM_LOCK).label("locked")).cte("stream_lock")
    rows = select(
        *(func.unnest(bindparam(name, type_=ARRAY(kind))) for name, kind in _COLUMNS),
        bindparam("actor_id", type_=BigInteger),
    ).select_from(locked)
    appended = (
        insert(activity)
        .from_select([name for name, _ in _COLUMNS] + ["actor_id"], rows)
        .returning(activity.c.id)
        .cte("appended")
    )
    return select(
        func.pg_notify(CHANNEL, func.max(appended.c.id).cast(String)).label("notified"),
        func.max(appended.c.id).label("last_id"),
    )


async def append(db: RequestDatabase, actor_id: int | None, changes: Sequence[Change]) -> None:
    """Append `changes`, in order, as one statement; call it last, just before committing."""
    if not changes:
        return
    params: dict[str, Any] = {
        name: [getattr(change, name) for change in changes] for name, _ in _COLUMNS
    }
    await db.fetch_all(_append(), {**params, "actor_id": actor_id})
