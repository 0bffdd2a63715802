"""A document whose first mutation committed and whose second then lost its connection is not
answered as retryable as a whole: retrying it would repeat what was committed."""

from __future__ import annotations

import asyncio

from tests.support.factories import race_issue
from tests.support.ids import pk
from tests.support.races import hold_rows, sql, sql_value, wait_until_blocked

DOCUMENT = """
mutation ($project: ID!, $target: ID!) {
  a: issueCreate(input: {projectId: $project, title: "created once"}) { issue { id } }
  b: issueUpdate(input: {id: $target, title: "renamed"}) { issue { id } }
}
"""


async def test_a_lost_connection_after_a_commit_is_not_a_503(race):
    target = await race_issue(race, "target")
    holder = await hold_rows(
        race.database, "SELECT id FROM issues WHERE id = :i FOR UPDATE", i=pk(target)
    )
    try:
        variables = {"project": race.project, "target": target}
        sent = asyncio.ensure_future(
            race.client.post("/graphql", json={"query": DOCUMENT, "variables": variables})
        )
        await wait_until_blocked(race.database, 1)  # `b`, waiting for the held row
        await sql(
            race.database,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND pid <> pg_backend_pid()",
        )
        response = await sent
    finally:
        await holder.close()

    body = response.json()
    created = await sql_value(
        race.database, "SELECT count(*) FROM issues WHERE title = 'created once'"
    )
    assert created == 1
    assert body["data"]["a"]["issue"] is not None and body["data"]["b"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert response.status_code == 200
    assert "retry-after" not in response.headers
