"""Reading the activity log as a live stream: the statements live updates read it with, and the
one `LISTEN` connection of a process that says when to read.

A `NOTIFY` on `db.activity.CHANNEL` only says "read the log after what you have": a listener that
misses one (its connection dropped, PostgreSQL restarted) reads everything it missed once it is
back, so a lost notification delays an event and never loses it. Readers read one workspace at a
time, after the last entry they have of it: within a workspace, entries are numbered in commit
order (`db.activity`), so reading after id N never skips an entry committed late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import cache
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import BigInteger, Integer, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from db.activity import CHANNEL
from db.issue_filters import IssueFilter
from db.queries import activity, issues, memberships
from db.writes import WORKSPACE

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy import Select

    from db.session import RequestDatabase

logger = logging.getLogger("backlog.live")

RECONNECT_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0)
"""Waits between attempts to reconnect the listener, the last one repeated."""
HEALTH_CHECK_S = 5.0
"""How often the listener checks its connection: a dropped one is found within this."""


@cache
def entries_after() -> Select[Any]:
    """A workspace's entries after an id, oldest first, at most `limit` of them."""
    return (
        select(*activity.c)
        .where(
            activity.c.workspace_id == WORKSPACE,
            activity.c.id > bindparam("after_id", type_=BigInteger),
        )
        .order_by(activity.c.id)
        .limit(bindparam("limit", type_=Integer))
    )


@cache
def last_entry_id() -> Select[Any]:
    """The id of a workspace's last committed entry (0 before its first)."""
    return select(func.coalesce(func.max(activity.c.id), 0)).where(
        activity.c.workspace_id == WORKSPACE
    )


@cache
def roles_in_workspace() -> Select[Any]:
    """The roles some users hold in a workspace now (no row: not a member)."""
    return select(memberships.c.user_id, memberships.c.role).where(
        memberships.c.workspace_id == WORKSPACE,
        memberships.c.user_id == any_(bindparam("user_ids", type_=ARRAY(BigInteger))),
    )


def issues_matching(issue_filter: IssueFilter) -> Select[Any]:
    """Which of some issues (`issue_ids`) exist and match `issue_filter` now, with their
    project; its values are `issue_filter.params()`. Compiled once per filter shape."""
    return issue_filter.apply(
        select(issues.c.id, issues.c.project_id).where(
            issues.c.id == any_(bindparam("issue_ids", type_=ARRAY(BigInteger)))
        )
    )


async def stream_head(db: RequestDatabase, workspace_id: int) -> int:
    """The id of the workspace's last committed entry: where a subscription starting now
    starts after."""
    return int(await db.scalar(last_entry_id(), {"workspace_id": workspace_id}))


async def read_entries(
    db: RequestDatabase, workspace_id: int, after_id: int, limit: int
) -> Sequence[Any]:
    return await db.fetch_all(
        entries_after(), {"workspace_id": workspace_id, "after_id": after_id, "limit": limit}
    )


def notified_workspace(payload: str) -> int | None:
    """The workspace a notification names (`<workspace id>:<last id>`); None when it names
    none (a payload of another form): then every workspace is read.

    >>> notified_workspace("7:1042"), notified_workspace("1042")
    (7, None)
    """
    workspace, found, _ = payload.partition(":")
    return int(workspace) if found and workspace.isdigit() else None


def plain_dsn(url: str) -> str:
    """asyncpg's form of a SQLAlchemy URL (`postgresql+asyncpg://` has a dialect in it)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class StreamListener:
    """A `LISTEN` connection (a process has one per channel). It calls
    `on_change(workspace_id)` for every notification, and `on_change(None)` ("read every
    workspace") each time it (re)connects, so that what was committed while it was away is read
    too. It reconnects by itself."""

    def __init__(
        self, url: str, on_change: Callable[[int | None], None], channel: str = CHANNEL
    ) -> None:
        self.dsn = plain_dsn(url)
        self.on_change = on_change
        self.channel = channel
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Until cancelled: connect, listen, and reconnect whenever the connection fails."""
        attempt = 0
        while True:
            connection: Any = None
            try:
                connection = await asyncpg.connect(self.dsn, timeout=10)
                await connection.add_listener(self.channel, self._notified)
                if attempt:
                    logger.info("stream listener reconnected")
                attempt = 0
                self.connected.set()
                self.on_change(None)
                while not connection.is_closed():
                    await asyncio.sleep(HEALTH_CHECK_S)
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), HEALTH_CHECK_S)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if attempt == 0:
                    logger.warning(
                        "stream listener lost its connection (%s); reconnecting",
                        type(error).__name__,
                    )
            finally:
                self.connected.clear()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.terminate()
            await asyncio.sleep(RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)])
            attempt += 1

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.on_change(notified_workspace(payload))
