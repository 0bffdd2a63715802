"""Reading webhooks: `workspace.webhooks` and `webhook.deliveries` (connections), `node(id:)` for
both types, only for those who may manage them, in a number of statements that does not grow with
the page."""

from __future__ import annotations

import pytest

from tests.support.actors import ADMIN, GUEST, MEMBER, OWNER, STRANGER
from tests.support.factories import add_webhook, add_webhook_delivery, add_webhook_message
from tests.support.ids import to_global_id

WEBHOOKS = """{ workspace(slug: "acme") { webhooks { totalCount nodes { id url } } } }"""
DELIVERIES = """query ($id: ID!, $after: String) { node(id: $id) { ... on Webhook {
    deliveries(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { id messageId eventType attempt attemptedAt statusCode latencyMs responseExcerpt
              error succeeded nextRetryAt webhook { id } } } } } }"""
NODE = """query ($id: ID!) { node(id: $id) { __typename id
    ... on Webhook { url eventTypes workspace { slug } }
    ... on WebhookDelivery { messageId } } }"""
NESTED = """{ workspace(slug: "acme") { webhooks(first: 50) { nodes {
    id deliveries(first: 10) { totalCount nodes { id messageId webhook { id } } } } } } }"""


async def test_managers_list_the_webhooks_and_others_get_null(gql_as, connection):
    hooks = [await add_webhook(connection, "issue.created") for _ in range(2)]

    for manager in (OWNER, ADMIN):
        listed = (await gql_as(manager)(WEBHOOKS))["data"]["workspace"]["webhooks"]
        assert listed["totalCount"] == 2
        assert [n["id"] for n in listed["nodes"]] == [to_global_id("Webhook", h) for h in hooks]
    for viewer in (MEMBER, GUEST):
        assert (await gql_as(viewer)(WEBHOOKS))["data"]["workspace"] == {"webhooks": None}
    assert (await gql_as(STRANGER)(WEBHOOKS))["data"]["workspace"] is None


async def test_deliveries_are_paged_newest_first(gql_as, connection):
    hook = await add_webhook(connection, "issue.created")
    message = await add_webhook_message(connection, hook)
    attempts = [await add_webhook_delivery(connection, hook, message, attempt=n) for n in (1, 2, 3)]
    hook_id = to_global_id("Webhook", hook)
    admin = gql_as(ADMIN)

    first = (await admin(DELIVERIES, {"id": hook_id}))["data"]["node"]["deliveries"]
    rest = (await admin(DELIVERIES, {"id": hook_id, "after": first["pageInfo"]["endCursor"]}))[
        "data"
    ]["node"]["deliveries"]

    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    nodes = first["nodes"] + rest["nodes"]
    assert [n["id"] for n in nodes] == [
        to_global_id("WebhookDelivery", d) for d in reversed(attempts)
    ]
    assert [n["attempt"] for n in nodes] == [3, 2, 1]
    newest = nodes[0]
    assert newest["messageId"] == f"msg_{message}"
    assert (newest["eventType"], newest["statusCode"], newest["latencyMs"]) == (
        "issue.created",
        500,
        12,
    )
    assert (newest["responseExcerpt"], newest["error"], newest["succeeded"]) == (
        "oops",
        "HTTP 500",
        False,
    )
    assert newest["nextRetryAt"] is not None and newest["attemptedAt"] is not None
    assert newest["webhook"] == {"id": hook_id}


@pytest.mark.parametrize("manager", [OWNER, ADMIN])
async def test_both_types_are_nodes_of_their_managers_only(gql_as, connection, manager):
    hook = await add_webhook(connection, "issue.created", "comment.created")
    delivery = await add_webhook_delivery(
        connection, hook, await add_webhook_message(connection, hook)
    )
    hook_id, delivery_id = to_global_id("Webhook", hook), to_global_id("WebhookDelivery", delivery)

    seen = await gql_as(manager)(NODE, {"id": hook_id})
    assert seen["data"]["node"] == {
        "__typename": "Webhook",
        "id": hook_id,
        "url": "https://hooks.example.com/backlog",
        "eventTypes": ["ISSUE_CREATED", "COMMENT_CREATED"],
        "workspace": {"slug": "acme"},
    }
    found = (await gql_as(manager)(NODE, {"id": delivery_id}))["data"]["node"]
    assert found["__typename"] == "WebhookDelivery" and found["id"] == delivery_id
    for viewer in (MEMBER, GUEST, STRANGER):
        for node_id in (hook_id, delivery_id):
            assert (await gql_as(viewer)(NODE, {"id": node_id})) == {"data": {"node": None}}


async def test_nested_deliveries_cost_the_same_statements_for_one_webhook_or_many(
    gql, connection, statements
):
    async def statements_for_query() -> int:
        before = statements.count
        body = await gql(NESTED)
        assert "errors" not in body, body
        return statements.count - before

    hook = await add_webhook(connection, "issue.created")
    await add_webhook_delivery(connection, hook, await add_webhook_message(connection, hook))
    one = await statements_for_query()
    assert one > 0
    for _ in range(4):
        more = await add_webhook(connection, "issue.created")
        message = await add_webhook_message(connection, more)
        for attempt in (1, 2):
            await add_webhook_delivery(connection, more, message, attempt=attempt)

    assert await statements_for_query() == one
