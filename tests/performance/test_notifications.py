"""The inbox in SQL statements: `viewer.notifications` with each notification's issue, comment
and actor costs the same whatever the page size, and a mutation's notification rules cost one
statement when they notify nobody."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support.actors import MEMBER, OWNER
from tests.support.factories import create_issue
from tests.support.inbox import COMMENT_CREATE, ok, user_pk

INBOX = """query ($first: Int!) { viewer {
    unreadNotificationCount
    notifications(first: $first) {
        totalCount
        nodes { kind read issue { identifier title } comment { body } actor { name } }
    } } }"""


@pytest.mark.parametrize("first", [2, 40])
async def test_the_inbox_costs_the_same_whatever_the_page_size(
    gql_as, connection, statements, first
):
    member, owner = await user_pk(connection, MEMBER), await user_pk(connection, OWNER)
    # 50 notifications of the member, each about a comment on one of the seed's first issues.
    await connection.execute(
        text(
            "WITH written AS (INSERT INTO comments (workspace_id, issue_id, author_id, body) "
            "SELECT workspace_id, id, :o, 'hello' FROM issues WHERE workspace_id = 1 "
            "ORDER BY id LIMIT 50 RETURNING id, issue_id, workspace_id) "
            "INSERT INTO notifications (user_id, workspace_id, kind, issue_id, comment_id, "
            "actor_id) SELECT :m, workspace_id, 'COMMENTED', issue_id, id, :o FROM written"
        ),
        {"m": member, "o": owner},
    )
    before = statements.count
    body = await gql_as(MEMBER)(INBOX, {"first": first})
    assert "errors" not in body, body
    inbox = body["data"]["viewer"]
    assert len(inbox["notifications"]["nodes"]) == first
    assert inbox["unreadNotificationCount"] == inbox["notifications"]["totalCount"] == 50
    # The test's own look-up of the member's id to sign in, then the request's: viewer, user,
    # unread count, page, total count, issues, comments, actors.
    assert statements.count - before == 9, statements.statements[before:]


async def test_a_comment_that_notifies_nobody_costs_one_statement(gql_as, connection, statements):
    owner = gql_as(OWNER)
    issue = (await create_issue(owner, connection))["issue"]["id"]
    before = statements.count
    await ok(owner, COMMENT_CREATE, {"issueId": issue, "body": "note to self"})
    inbox = [
        s
        for s in statements.statements[before:]
        if "issue_subscriptions" in s or "notification" in s
    ]
    # The issue's facts, its subscribers and the commenter's subscription: one statement.
    assert len(inbox) == 1, inbox
