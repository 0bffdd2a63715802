"""Tracker writes under concurrency, on real connections and real commits: numbering, field-level
updates and idempotent retries. Each test works in a workspace of its own, deleted after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from db.session import Database
from schema.node import to_global_id
from server.app import create_app
from server.settings import Settings
from tests.conftest import OWNER, TEST_JWT_SECRET

CREATE = """mutation ($input: IssueCreateInput!) {
    issueCreate(input: $input) { issue { id number } errors { code } } }"""
UPDATE = """mutation ($input: IssueUpdateInput!) {
    issueUpdate(input: $input) { issue { title priority version } errors { code } } }"""


@pytest.fixture
async def race(engine, seeded_database_url) -> AsyncIterator[dict[str, Any]]:
    """A committed workspace (the demo owner is its OWNER) with one state and one project."""
    database = Database(engine)
    setup = database.request_handle()
    try:
        workspace = await setup.scalar(
            text("INSERT INTO workspaces (slug, name) VALUES ('race-test', 'Race') RETURNING id")
        )
        await setup.fetch_all(
            text(
                "INSERT INTO memberships (workspace_id, user_id, role) "
                "SELECT :w, id, 'OWNER' FROM users WHERE email = :e"
            ).bindparams(w=workspace, e=OWNER)
        )
        await setup.fetch_all(
            text(
                "INSERT INTO workflow_states (workspace_id, name, type, position) "
                "VALUES (:w, 'Todo', 'UNSTARTED', 0)"
            ).bindparams(w=workspace)
        )
        project = await setup.scalar(
            text(
                "INSERT INTO projects (workspace_id, key, name) VALUES (:w, 'RACE', 'Race') "
                "RETURNING id"
            ).bindparams(w=workspace)
        )
        await setup.commit()
    finally:
        await setup.close()
    settings = Settings(
        database_url=seeded_database_url,
        BACKLOG_ENV="development",
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_DEMO_VIEWER=OWNER,
    )
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://backlog.test"
    ) as client:
        yield {
            "client": client,
            "database": database,
            "project": to_global_id("Project", project),
            "workspace": workspace,
        }
    cleanup = database.request_handle()
    try:
        await cleanup.fetch_all(text("DELETE FROM workspaces WHERE slug = 'race-test'"))
        await cleanup.fetch_all(text("DELETE FROM idempotency_keys WHERE key LIKE 'race-%'"))
        await cleanup.commit()
    finally:
        await cleanup.close()


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


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
