"""Idempotency keys: a retry returns the first result without doing the work again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.support.actors import MEMBER
from tests.support.factories import ISSUE_CREATE as CREATE
from tests.support.factories import ISSUE_UPDATE as UPDATE
from tests.support.factories import project_id
from tests.support.ids import ids


async def count(connection, title: str) -> int:
    return (await ids(connection, "SELECT count(*) FROM issues WHERE title = :t", t=title))[0]


async def keyed_create(connection, title: str, key: str) -> dict[str, Any]:
    """issueCreate's variables: an issue `title` in acme's ENG, under idempotency key `key`."""
    return {
        "input": {"projectId": await project_id(connection), "title": title, "idempotencyKey": key}
    }


async def test_a_retry_returns_the_same_issue_and_creates_one_row(gql, connection):
    variables = await keyed_create(connection, "retry me", "create-1")
    first = await gql(CREATE, variables)
    second = await gql(CREATE, variables)
    assert first["data"]["issueCreate"]["issue"]["id"] is not None
    assert second["data"] == first["data"]
    assert await count(connection, "retry me") == 1
    logged = await ids(
        connection,
        "SELECT count(*) FROM activity a JOIN issues i "
        "ON i.id = a.issue_id WHERE i.title = 'retry me'",
    )
    assert logged == [1]


async def test_the_same_key_with_another_input_is_refused(gql, connection):
    await gql(CREATE, await keyed_create(connection, "one", "k"))
    body = await gql(CREATE, await keyed_create(connection, "two", "k"))
    payload = body["data"]["issueCreate"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", ["idempotencyKey"])
    ]
    assert await count(connection, "two") == 0


async def test_a_key_used_for_another_mutation_is_refused(gql, connection):
    created = await gql(CREATE, await keyed_create(connection, "t", "shared"))
    issue = created["data"]["issueCreate"]["issue"]["id"]
    body = await gql(UPDATE, {"input": {"id": issue, "title": "t2", "idempotencyKey": "shared"}})
    assert [e["code"] for e in body["data"]["issueUpdate"]["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]


async def test_keys_belong_to_their_user(gql, gql_as, connection):
    variables = await keyed_create(connection, "mine", "same-key")
    await gql(CREATE, variables)
    await gql_as(MEMBER)(CREATE, variables)
    assert await count(connection, "mine") == 2


async def test_an_update_retry_does_not_apply_twice(gql, connection):
    created = await gql(
        CREATE, {"input": {"projectId": await project_id(connection), "title": "v"}}
    )
    issue = created["data"]["issueCreate"]["issue"]["id"]
    variables = {"input": {"id": issue, "title": "v2", "idempotencyKey": "upd"}}
    first = await gql(UPDATE, variables)
    await gql(UPDATE, {"input": {"id": issue, "title": "v3"}})
    retry = await gql(UPDATE, variables)
    assert first["data"]["issueUpdate"]["issue"]["version"] == 2
    # The retry did nothing: the issue keeps the later change.
    assert retry["data"]["issueUpdate"]["issue"]["title"] == "v3"
    assert retry["data"]["issueUpdate"]["issue"]["version"] == 3


async def test_a_failed_attempt_leaves_the_key_free(gql, connection):
    bad = await gql(CREATE, await keyed_create(connection, "", "f"))
    assert bad["data"]["issueCreate"]["errors"]
    good = await gql(CREATE, await keyed_create(connection, "fixed", "f"))
    assert good["data"]["issueCreate"]["errors"] == []


async def test_keys_expire_after_24_hours(gql, connection):
    variables = await keyed_create(connection, "daily", "old")
    await gql(CREATE, variables)
    await connection.execute(
        text(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'"
        )
    )
    await gql(CREATE, variables)
    assert await count(connection, "daily") == 2


async def test_key_length_is_checked(gql, connection):
    body = await gql(CREATE, await keyed_create(connection, "t", "k" * 256))
    assert [e["code"] for e in body["data"]["issueCreate"]["errors"]] == ["INVALID_INPUT"]


async def test_a_batch_retry_replays_every_issue(gql, connection):
    project = await project_id(connection)
    created = [
        (await gql(CREATE, {"input": {"projectId": project, "title": f"b{i}"}}))["data"][
            "issueCreate"
        ]["issue"]["id"]
        for i in range(2)
    ]
    batch = """mutation ($input: IssueBatchUpdateInput!) { issueBatchUpdate(input: $input) {
        issues { id version } errors { code } } }"""
    variables = {
        "input": {"ids": created, "changes": {"priority": "HIGH"}, "idempotencyKey": "batch"}
    }
    first = await gql(batch, variables)
    retry = await gql(batch, variables)
    assert retry["data"] == first["data"]
    assert [i["version"] for i in retry["data"]["issueBatchUpdate"]["issues"]] == [2, 2]


async def test_a_retry_after_the_result_is_gone_says_so(gql, connection):
    variables = await keyed_create(connection, "short-lived", "gone")
    first = await gql(CREATE, variables)
    issue = first["data"]["issueCreate"]["issue"]["id"]
    await gql(
        "mutation ($id: ID!) { issueDelete(input: {id: $id}) { errors { code } } }", {"id": issue}
    )
    retry = await gql(CREATE, variables)
    assert retry["data"]["issueCreate"]["issue"] is None
    assert [e["code"] for e in retry["data"]["issueCreate"]["errors"]] == ["NOT_FOUND"]
    assert await count(connection, "short-lived") == 0
