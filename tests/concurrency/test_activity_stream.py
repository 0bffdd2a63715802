"""The activity log's order, on real connections and real commits: within a workspace, ids follow
commit order (the append waits for the workspace's stream lock, `db.activity`); workspaces do not
wait for each other; a transaction that appends to several takes their locks in one order; each
commit notifies `"<workspace id>:<highest id>"` once per workspace it appended to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db import activity
from db.activity import Change
from db.session import Database, RequestDatabase
from tests.support.factories import RaceWorkspace, race_issue, race_workspace
from tests.support.graphql import request
from tests.support.races import (
    WAIT_TIMEOUT_S,
    hold_stream_lock,
    lock_waiters,
    sql,
    sql_value,
    wait_until_blocked,
)

UPDATE = """mutation ($input: IssueUpdateInput!) { issueUpdate(input: $input) {
    issue { version } errors { code } } }"""
LAST_ID = "SELECT coalesce(max(id), 0) FROM activity WHERE workspace_id = :w"


@pytest.fixture
async def other(engine: AsyncEngine, seeded_database_url: str) -> AsyncIterator[RaceWorkspace]:
    """A second race workspace, with its own stream lock."""
    async with race_workspace(engine, seeded_database_url, "race-test-other") as workspace:
        yield workspace


def created(workspace_id: int) -> Change:
    return Change(workspace_id, "Project", 1, "CREATED")


async def appending(database: Database, *changes: Change) -> RequestDatabase:
    """A transaction that has appended `changes`, not yet committed."""
    handle = database.request_handle()
    await activity.append(handle, None, changes)
    return handle


async def ids_of(database: Database, *workspace_ids: int) -> list[tuple[int, int]]:
    rows = await sql(
        database,
        "SELECT workspace_id, id FROM activity WHERE workspace_id = ANY(:w) ORDER BY id",
        w=list(workspace_ids),
    )
    return [(row[0], row[1]) for row in rows]


async def test_a_mutation_waits_only_for_its_own_workspaces_stream(race, other):
    in_race, in_other = await race_issue(race, "race"), await race_issue(other, "other")
    holder = await hold_stream_lock(race.database, race.workspace)
    try:
        waiting = asyncio.ensure_future(
            request(race.client, UPDATE, {"input": {"id": in_race, "title": "waits"}})
        )
        await wait_until_blocked(race.database, tasks=[waiting])
        # Under one lock for every workspace, this one would wait too (and time out here).
        passed = await asyncio.wait_for(
            request(other.client, UPDATE, {"input": {"id": in_other, "title": "passes"}}),
            WAIT_TIMEOUT_S,
        )
        assert passed == {"data": {"issueUpdate": {"issue": {"version": 2}, "errors": []}}}
        assert not waiting.done() and await lock_waiters(race.database) == 1
    finally:
        await holder.close()
    assert await waiting == {"data": {"issueUpdate": {"issue": {"version": 2}, "errors": []}}}


async def test_within_a_workspace_ids_follow_commit_order(race, other):
    first = await appending(race.database, created(race.workspace))
    try:
        second = asyncio.ensure_future(appending(race.database, created(race.workspace)))
        await wait_until_blocked(race.database, tasks=[second])
        # Another workspace appends and commits meanwhile.
        elsewhere = await asyncio.wait_for(
            appending(race.database, created(other.workspace)), WAIT_TIMEOUT_S
        )
        await elsewhere.commit()
        await elsewhere.close()
        await first.commit()
    finally:
        await first.close()
    seen = await sql_value(race.database, LAST_ID, w=race.workspace)
    later = await second
    try:
        await later.commit()
    finally:
        await later.close()
    logged = await ids_of(race.database, race.workspace, other.workspace)
    ours = [id_ for workspace, id_ in logged if workspace == race.workspace]
    # The second append took its id only once the first had committed: a reader that saw the
    # first's id finds the later commit after it, never before.
    assert len(ours) == 2 and ours[0] == seen < ours[1]
    assert len(logged) == 3


async def test_appends_to_several_workspaces_take_their_locks_in_one_order(race, other):
    low, high = sorted((race.workspace, other.workspace))
    holder = await hold_stream_lock(race.database, low)
    tasks: list[asyncio.Future[RequestDatabase]] = []
    try:
        # In the order given, the second would hold `high` while waiting for `low`, and the first,
        # granted `low` when `holder` lets go, would wait for `high`: a deadlock. Ascending, both
        # wait for `low` holding nothing.
        for changes in ((created(low), created(high)), (created(high), created(low))):
            tasks.append(asyncio.ensure_future(appending(race.database, *changes)))
            await wait_until_blocked(race.database, tasks=tasks)
        assert await lock_waiters(race.database) == 2
    finally:
        await holder.close()
    for task in asyncio.as_completed(tasks):
        handle = await task
        try:
            await handle.commit()
        finally:
            await handle.close()
    assert len(await ids_of(race.database, low, high)) == 4


async def test_each_commit_notifies_each_workspace_with_its_highest_id(race, other, engine):
    received: list[str] = []
    arrived = asyncio.Event()

    def heard(*args: Any) -> None:
        received.append(args[-1])
        if len(received) == 2:
            arrived.set()

    async with engine.connect() as listening:
        raw = (await listening.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.add_listener(activity.CHANNEL, heard)
        try:
            handle = await appending(
                race.database,
                created(other.workspace),
                created(race.workspace),
                created(other.workspace),
            )
            try:
                await handle.commit()
            finally:
                await handle.close()
            await asyncio.wait_for(arrived.wait(), WAIT_TIMEOUT_S)
            # PostgreSQL sends what is pending before it answers: no third one was on its way.
            await raw.execute("SELECT 1")
            await asyncio.sleep(0)
        finally:
            await raw.remove_listener(activity.CHANNEL, heard)
    logged = await ids_of(race.database, race.workspace, other.workspace)
    highest = {workspace: id_ for workspace, id_ in logged}
    assert sorted(received) == sorted(f"{w}:{highest[w]}" for w in highest)
