"""Tracker writes under concurrency, on real connections and real commits: numbering, field-level
updates and idempotent retries. Each test works in a workspace of its own (the `race` fixture),
deleted after it; requests meant to be in flight together are known to be so because PostgreSQL
shows them waiting for a lock (`tests.support.races`)."""

from __future__ import annotations

import asyncio

from tests.support.factories import RACE_ISSUE_CREATE as CREATE
from tests.support.factories import race_issue
from tests.support.graphql import data
from tests.support.races import hold_rows, sql_value, wait_until_blocked

UPDATE = """mutation ($input: IssueUpdateInput!) {
    issueUpdate(input: $input) { issue { title priority version } errors { code } } }"""
LOCK_ISSUES = "SELECT id FROM issues WHERE workspace_id = :w FOR UPDATE"


async def test_fifty_concurrent_creates_take_numbers_without_gaps_or_duplicates(race):
    results = await asyncio.gather(
        *(
            data(race.client, CREATE, {"input": {"projectId": race.project, "title": f"#{i}"}})
            for i in range(50)
        )
    )
    numbers = sorted(r["issueCreate"]["issue"]["number"] for r in results)
    assert numbers == list(range(1, 51))


async def test_concurrent_updates_of_different_fields_both_survive(race):
    issue = await race_issue(race, "before")
    # Hold the row, so both updates are in flight at once and then run one after the other.
    holder = await hold_rows(race.database, LOCK_ISSUES, w=race.workspace)
    try:
        title = asyncio.ensure_future(
            data(race.client, UPDATE, {"input": {"id": issue, "title": "after"}})
        )
        priority = asyncio.ensure_future(
            data(race.client, UPDATE, {"input": {"id": issue, "priority": "URGENT"}})
        )
        await wait_until_blocked(race.database, 2)
        assert not title.done() and not priority.done()
    finally:
        await holder.close()
    await asyncio.gather(title, priority)
    query = "query ($id: ID!) { node(id: $id) { ... on Issue { title priority version } } }"
    final = (await data(race.client, query, {"id": issue}))["node"]
    assert final == {"title": "after", "priority": "URGENT", "version": 3}


async def test_concurrent_retries_with_one_key_create_one_issue(race):
    variables = {
        "input": {"projectId": race.project, "title": "once", "idempotencyKey": "race-key-1"}
    }
    results = await asyncio.gather(*(data(race.client, CREATE, variables) for _ in range(5)))
    created = [r["issueCreate"]["issue"] for r in results]
    assert None not in created, results
    assert len({issue["id"] for issue in created}) == 1
    count = await sql_value(
        race.database, "SELECT count(*) FROM issues WHERE workspace_id = :w", w=race.workspace
    )
    assert count == 1


async def test_two_moves_that_would_make_a_cycle_together_cannot_both_succeed(race):
    a, b = [await race_issue(race, title) for title in ("a", "b")]
    move = """mutation ($input: IssueUpdateInput!) { issueUpdate(input: $input) {
        errors { code } } }"""
    holder = await hold_rows(race.database, LOCK_ISSUES, w=race.workspace)
    try:
        moves = [
            asyncio.ensure_future(data(race.client, move, {"input": {"id": a, "parentId": b}})),
            asyncio.ensure_future(data(race.client, move, {"input": {"id": b, "parentId": a}})),
        ]
        await wait_until_blocked(race.database, 2)
    finally:
        await holder.close()
    results = await asyncio.gather(*moves)
    codes = sorted(tuple(e["code"] for e in r["issueUpdate"]["errors"]) for r in results)
    assert codes == [(), ("CYCLE",)]
    parents = await sql_value(
        race.database,
        "SELECT count(*) FROM issues WHERE workspace_id = :w AND parent_id IS NOT NULL",
        w=race.workspace,
    )
    assert parents == 1
