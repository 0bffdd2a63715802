"""What the inbox's tests share: who got which notification, written by SQL lookups, and the
documents that change issues and comments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.ids import ids, pk

ISSUE_UPDATE = """mutation ($input: IssueUpdateInput!) {
    issueUpdate(input: $input) { issue { id } errors { code } } }"""
COMMENT_CREATE = """mutation ($input: CommentCreateInput!) {
    commentCreate(input: $input) { comment { id } errors { code } } }"""
COMMENT_UPDATE = """mutation ($input: CommentUpdateInput!) {
    commentUpdate(input: $input) { comment { id } errors { code } } }"""
PREFERENCE_UPDATE = """mutation ($input: NotificationPreferenceUpdateInput!) {
    notificationPreferenceUpdate(input: $input) {
        preference { kind inApp email } errors { code } } }"""


async def user_pk(connection: AsyncConnection, email: str) -> int:
    (key,) = await ids(connection, "SELECT id FROM users WHERE email = :e", e=email)
    return int(key)


async def notified(connection: AsyncConnection, issue: str) -> list[tuple[str, str, bool]]:
    """(recipient's email, kind, has a comment) of each notification about the issue, in the
    order written."""
    rows = await connection.execute(
        text(
            "SELECT u.email, n.kind::text, n.comment_id IS NOT NULL FROM notifications n "
            "JOIN users u ON u.id = n.user_id WHERE n.issue_id = :i ORDER BY n.id"
        ),
        {"i": pk(issue)},
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def subscribers(connection: AsyncConnection, issue: str) -> set[str]:
    return set(
        await ids(
            connection,
            "SELECT u.email FROM issue_subscriptions s JOIN users u ON u.id = s.user_id "
            "WHERE s.issue_id = :i",
            i=pk(issue),
        )
    )


async def emails_to(connection: AsyncConnection, address: str) -> list[dict[str, Any]]:
    """The payloads of the notification emails in the outbox for `address`, oldest first."""
    rows = await connection.execute(
        text(
            "SELECT payload FROM outbox_messages WHERE kind = 'email' "
            "AND payload->>'purpose' = 'notification' AND payload->>'to' = :a ORDER BY id"
        ),
        {"a": address},
    )
    return [row[0] for row in rows]


async def ok(gql: GraphQL, document: str, input: dict[str, Any]) -> dict[str, Any]:
    """Runs a mutation that must succeed; its payload."""
    body = await gql(document, {"input": input})
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert payload["errors"] == [], payload
    result: dict[str, Any] = payload
    return result
