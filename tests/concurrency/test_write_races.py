"""Tracker writes under concurrency, on real connections and real commits: numbering, field-level
updates and idempotent retries. Each test works in a workspace of its own (the `race` fixture),
deleted after it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.conftest import post

CREATE = """mutation ($input: IssueCreateInput!) {
    issueCreate(input: $input) { issue { id number } errors { code } } }"""
UPDATE = """mutation ($input: IssueUpdateInput!) {
    issueUpdate(input: $input) { issue { title priority version } errors { code } } }"""


async def test_fifty_concurrent_creates_take_numbers_without_gaps_or_duplicates(race):
    results = await asyncio.gather(
        *(
            post(
                race["client"], CREATE, {"input": {"projectId": race["project"], "title": f"#{i}"}}
            )
            for i in range(50)
        )
    )
    numbers = sorted(r["issueCreate"]["issue"]["number"] for r in results)
    assert numbers == list(range(1, 51))


async def test_concurrent_updates_of_different_fields_both_survive(race):
    created = await post(
        race["client"], CREATE, {"input": {"projectId": race["project"], "title": "before"}}
    )
    issue = created["issueCreate"]["issue"]["id"]
    # Hold the row, so both updates are in flight at once and then run one after the other.
    holder = race["database"].request_handle()
    try:
        await holder.fetch_all(
            text("SELECT id FROM issues WHERE workspace_id = :w FOR UPDATE").bindparams(
                w=race["workspace"]
            )
        )
        title = asyncio.create_task(
            post(race["client"], UPDATE, {"input": {"id": issue, "title": "after"}})
        )
        priority = asyncio.create_task(
            post(race["client"], UPDATE, {"input": {"id": issue, "priority": "URGENT"}})
        )
        await asyncio.sleep(0.3)
        assert not title.done() and not priority.done()
    finally:
        await holder.close()
    await asyncio.gather(title, priority)
    query = "query ($id: ID!) { node(id: $id) { ... on Issue { title priority version } } }"
    final = (await post(race["client"], query, {"id": issue}))["node"]
    assert final == {"title": "after", "priority": "URGENT", "version": 3}


async def test_concurrent_retries_with_one_key_create_one_issue(race):
    variables = {
        "input": {"projectId": race["project"], "title": "once", "idempotencyKey": "race-key-1"}
    }
    results = await asyncio.gather(*(post(race["client"], CREATE, variables) for _ in range(5)))
    assert {r["issueCreate"]["issue"]["id"] for r in results} != {None}
    assert len({r["issueCreate"]["issue"]["id"] for r in results}) == 1
    check = race["database"].request_handle()
    try:
        count = await check.scalar(
            text("SELECT count(*) FROM issues WHERE workspace_id = :w").bindparams(
                w=race["workspace"]
            )
        )
    finally:
        await check.close()
    assert count == 1


async def test_two_moves_that_would_make_a_cycle_together_cannot_both_succeed(race):
    created = [
        await post(race["client"], CREATE, {"input": {"projectId": race["project"], "title": t}})
        for t in ("a", "b")
    ]
    a, b = (c["issueCreate"]["issue"]["id"] for c in created)
    move = """mutation ($input: IssueUpdateInput!) { issueUpdate(input: $input) {
        errors { code } } }"""
    holder = race["database"].request_handle()
    try:
        await holder.fetch_all(
            text("SELECT id FROM issues WHERE workspace_id = :w FOR UPDATE").bindparams(
                w=race["workspace"]
            )
        )
        moves = [
            asyncio.create_task(post(race["client"], move, {"input": {"id": a, "parentId": b}})),
            asyncio.create_task(post(race["client"], move, {"input": {"id": b, "parentId": a}})),
        ]
        await asyncio.sleep(0.3)
    finally:
        await holder.close()
    results = await asyncio.gather(*moves)
    codes = sorted(tuple(e["code"] for e in r["issueUpdate"]["errors"]) for r in results)
    assert codes == [(), ("CYCLE",)]
