"""Races on real connections and real commits, synchronized by the database's locks.

A test takes a lock from a side connection (`hold_rows`, `hold_stream_lock`), starts requests
that need it (`one_after_another`), and knows each request is in flight because PostgreSQL shows
its session waiting for a lock (`wait_until_blocked`), never because some time has passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

from sqlalchemy import text

from db.activity import stream_lock_of
from db.session import Database, RequestDatabase
from tests.support.factories import RaceWorkspace
from tests.support.graphql import Body, request

T = TypeVar("T")

WAIT_TIMEOUT_S = 10.0

_LOCK_WAITERS = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)


async def sql(database: Database, statement: str, **params: Any) -> list[Any]:
    """Runs one statement in a transaction of its own, committed; its rows."""
    handle = database.request_handle()
    try:
        rows = await handle.fetch_all(text(statement).bindparams(**params))
        await handle.commit()
        return list(rows)
    finally:
        await handle.close()


async def sql_value(database: Database, statement: str, **params: Any) -> Any:
    """The first column of the first row of `statement`, run as `sql` runs it."""
    return (await sql(database, statement, **params))[0][0]


async def add_state(database: Database, workspace: int, name: str, position: int = 1) -> int:
    """A committed STARTED workflow state in `workspace`; its primary key."""
    state = await sql_value(
        database,
        "INSERT INTO workflow_states (workspace_id, name, type, position) "
        "VALUES (:w, :n, 'STARTED', :p) RETURNING id",
        w=workspace,
        n=name,
        p=position,
    )
    return int(state)


async def state_id(database: Database, workspace: int, name: str) -> int:
    """The primary key of `workspace`'s workflow state called `name`."""
    state = await sql_value(
        database,
        "SELECT id FROM workflow_states WHERE workspace_id = :w AND name = :n",
        w=workspace,
        n=name,
    )
    return int(state)


async def lock_waiters(database: Database) -> int:
    """How many other sessions on this database wait for a lock right now."""
    handle = database.request_handle()  # a new transaction: pg_stat_activity is not cached
    try:
        return int(await handle.scalar(_LOCK_WAITERS))
    finally:
        await handle.close()


async def wait_until_blocked(
    database: Database,
    waiters: int | None = None,
    *,
    tasks: Iterable[asyncio.Future[Any]] = (),
    within_s: float = WAIT_TIMEOUT_S,
) -> None:
    """Returns once at least `waiters` sessions wait for a lock — by default, as many as `tasks`
    that have not finished (a request that needs no lock finishes instead of waiting); fails
    after `within_s` seconds."""
    watched = list(tasks)
    deadline = time.monotonic() + within_s
    while True:
        wanted = waiters if waiters is not None else sum(not task.done() for task in watched)
        if await lock_waiters(database) >= wanted:
            return
        assert time.monotonic() < deadline, f"fewer than {wanted} sessions waited for a lock"
        await asyncio.sleep(0.01)


async def hold_rows(database: Database, statement: str, **params: Any) -> RequestDatabase:
    """A handle holding the row locks `statement` (a `SELECT … FOR UPDATE`) takes; close it to
    release them."""
    handle = database.request_handle()
    await handle.fetch_all(text(statement).bindparams(**params))
    return handle


async def hold_stream_lock(database: Database, workspace_id: int) -> RequestDatabase:
    """Holds the activity stream's lock of one workspace: every mutation that writes to it then
    pauses at its last statement (the append) with all its row locks held; this only widens
    windows that exist anyway. Other workspaces' mutations do not wait for it."""
    handle = database.request_handle()
    await handle.fetch_all(stream_lock_of(workspace_id))
    return handle


async def one_after_another(
    database: Database, holder: RequestDatabase, *requests: Awaitable[T]
) -> list[T]:
    """Starts each request once the ones before it wait for a lock (or have finished), while
    `holder` keeps its lock; then releases it and returns their results, in order."""
    tasks: list[asyncio.Future[T]] = []
    try:
        for request in requests:
            tasks.append(asyncio.ensure_future(request))
            await wait_until_blocked(database, tasks=tasks)
    finally:
        await holder.close()
    return list(await asyncio.gather(*tasks))


async def requests_behind_the_stream_lock(
    race: RaceWorkspace, *operations: tuple[str, dict[str, Any]]
) -> list[Body]:
    """Sends each (document, variables) as `race`'s client, one after another, while its
    workspace's activity stream lock is held (`hold_stream_lock`, `one_after_another`); their
    bodies, in order."""
    holder = await hold_stream_lock(race.database, race.workspace)
    return await one_after_another(
        race.database,
        holder,
        *(request(race.client, document, variables) for document, variables in operations),
    )
