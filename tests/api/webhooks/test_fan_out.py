"""What a mutation's changes write to the outbox for webhooks: one message per subscribed,
enabled webhook of the workspace and event, in the mutation's transaction, carrying the envelope;
nothing for anyone else, and nothing when the mutation is refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text

from tests.support.actors import ADMIN, GUEST, MEMBER
from tests.support.factories import (
    ACME,
    ACME_ISSUE_PK,
    GLOBEX_PK,
    ISSUE_UPDATE,
    add_webhook,
    create_comment,
    webhook_messages,
)
from tests.support.graphql import error_codes
from tests.support.ids import to_global_id

ISSUE = to_global_id("Issue", ACME_ISSUE_PK)
ISSUE_AS_API = """query ($id: ID!) { node(id: $id) { ... on Issue {
    id identifier number title description priority estimate dueDate createdAt updatedAt
    archivedAt state { id name type } assignee { id name } project { id key name }
    labels { nodes { id name } } parent { id identifier } } } }"""
COMMENT_AS_API = """query ($id: ID!) { node(id: $id) { ... on Comment {
    id body createdAt editedAt issue { id identifier } author { id name } } } }"""


async def actor(connection, email: str) -> dict[str, str]:
    row = (
        await connection.execute(text("SELECT id, name FROM users WHERE email = :e"), {"e": email})
    ).one()
    return {"id": to_global_id("User", row.id), "name": row.name}


async def as_api_shows(gql, document: str, global_id: str) -> dict[str, Any]:
    body = await gql(document, {"id": global_id})
    assert "errors" not in body, body
    shown: dict[str, Any] = body["data"]["node"]
    if "labels" in shown:
        shown["labels"] = shown["labels"]["nodes"]
    return shown


async def test_an_issue_update_is_one_event_for_each_subscribed_enabled_webhook_of_its_workspace(
    gql_as, connection
):
    subscribed = await add_webhook(connection, "issue.updated", "comment.created")
    other_event = await add_webhook(connection, "issue.created")
    disabled = await add_webhook(connection, "issue.updated", enabled=False)
    elsewhere = await add_webhook(connection, "issue.updated", workspace=GLOBEX_PK)
    before = await as_api_shows(gql_as(MEMBER), ISSUE_AS_API, ISSUE)

    body = await gql_as(MEMBER)(
        ISSUE_UPDATE,
        {"input": {"id": ISSUE, "title": "Renamed for the hook", "priority": "URGENT"}},
    )

    assert body["data"]["issueUpdate"]["errors"] == [], body
    assert await webhook_messages(connection, other_event, disabled, elsewhere) == []
    (message,) = await webhook_messages(connection, subscribed)
    assert (message.kind, message.target_id) == ("webhook", subscribed)
    envelope = message.payload
    changed_at = await connection.scalar(
        text(
            "SELECT max(created_at) FROM activity WHERE subject_type = 'Issue' AND subject_id = :i"
        ),
        {"i": ACME_ISSUE_PK},
    )
    assert datetime.fromisoformat(envelope.pop("timestamp")) == changed_at
    assert envelope == {
        "type": "issue.updated",
        "data": {
            "workspace": {"id": ACME, "slug": "acme"},
            "actor": await actor(connection, MEMBER),
            "object": await as_api_shows(gql_as(MEMBER), ISSUE_AS_API, ISSUE),
            "changes": [
                {"field": "title", "from": before["title"], "to": "Renamed for the hook"},
                {"field": "priority", "from": before["priority"], "to": "URGENT"},
            ],
        },
    }


async def test_references_in_changes_are_global_ids(gql_as, connection):
    hook = await add_webhook(connection, "issue.updated")
    state_from, state_to = (
        await connection.execute(
            text(
                "SELECT i.state_id, (SELECT min(s.id) FROM workflow_states s "
                "WHERE s.workspace_id = i.workspace_id AND s.id <> i.state_id) "
                "FROM issues i WHERE i.id = :i"
            ),
            {"i": ACME_ISSUE_PK},
        )
    ).one()

    await gql_as(ADMIN)(
        ISSUE_UPDATE,
        {"input": {"id": ISSUE, "stateId": to_global_id("WorkflowState", state_to)}},
    )

    (message,) = await webhook_messages(connection, hook)
    assert message.payload["data"]["changes"] == [
        {
            "field": "state",
            "from": to_global_id("WorkflowState", state_from),
            "to": to_global_id("WorkflowState", state_to),
        }
    ]
    assert message.payload["data"]["object"]["state"]["id"] == to_global_id(
        "WorkflowState", state_to
    )


async def test_a_refused_mutation_writes_nothing(gql_as, connection):
    hook = await add_webhook(connection, *("issue.created", "issue.updated", "issue.deleted"))

    invalid = await gql_as(MEMBER)(ISSUE_UPDATE, {"input": {"id": ISSUE, "title": ""}})
    forbidden = await gql_as(GUEST)(ISSUE_UPDATE, {"input": {"id": ISSUE, "title": "Mine"}})
    unchanged = await gql_as(MEMBER)(ISSUE_UPDATE, {"input": {"id": ISSUE}})

    assert [e["code"] for e in invalid["data"]["issueUpdate"]["errors"]] == ["INVALID_INPUT"]
    assert error_codes(forbidden) == ["FORBIDDEN"]
    assert unchanged["data"]["issueUpdate"]["errors"] == []
    assert await webhook_messages(connection, hook) == []


async def test_creates_comments_archiving_and_deletes_send_their_events(gql_as, connection):
    hook = await add_webhook(
        connection, "issue.created", "issue.updated", "issue.deleted", "comment.created"
    )
    member = gql_as(MEMBER)
    project = to_global_id(
        "Project",
        await connection.scalar(
            text("SELECT project_id FROM issues WHERE id = :i"), {"i": ACME_ISSUE_PK}
        ),
    )
    made = await member(
        """mutation ($p: ID!) { issueCreate(input: {projectId: $p, title: "Hooked"}) {
            issue { id } errors { code } } }""",
        {"p": project},
    )
    issue = made["data"]["issueCreate"]["issue"]["id"]
    comment = await create_comment(member, issue, "Seen by the hook")
    await member(
        "mutation ($id: ID!) { issueArchive(input: {id: $id}) { errors { code } } }", {"id": issue}
    )
    await gql_as(ADMIN)(
        "mutation ($id: ID!) { issueDelete(input: {id: $id}) { errors { code } } }", {"id": issue}
    )

    messages = [m.payload for m in await webhook_messages(connection, hook)]
    assert [m["type"] for m in messages] == [
        "issue.created",
        "comment.created",
        "issue.updated",
        "issue.deleted",
    ]
    created, commented, archived, deleted = messages
    assert created["data"]["object"]["id"] == issue
    assert created["data"]["object"]["title"] == "Hooked"
    assert "changes" not in created["data"]
    assert commented["data"]["object"]["id"] == comment
    assert commented["data"]["object"]["body"] == "Seen by the hook"
    assert commented["data"]["object"]["issue"]["id"] == issue
    assert commented["data"]["object"]["author"] == await actor(connection, MEMBER)
    assert archived["data"]["changes"] == [{"field": "archived", "from": "false", "to": "true"}]
    assert archived["data"]["object"]["archivedAt"] is not None
    assert deleted["data"]["object"] == {"id": issue}
    assert deleted["data"]["actor"] == await actor(connection, ADMIN)


async def test_a_comment_is_shown_as_the_api_shows_it(gql_as, connection):
    hook = await add_webhook(connection, "comment.created")

    comment = await create_comment(gql_as(GUEST), ISSUE, "A guest's word")

    (message,) = await webhook_messages(connection, hook)
    assert message.payload["data"]["object"] == await as_api_shows(
        gql_as(GUEST), COMMENT_AS_API, comment
    )


async def test_deleting_a_label_is_a_label_event_and_an_update_of_its_issues(gql_as, connection):
    hook = await add_webhook(connection, "label.deleted", "issue.updated")
    label = await connection.scalar(
        text("SELECT label_id FROM issue_labels WHERE issue_id = :i LIMIT 1"), {"i": ACME_ISSUE_PK}
    )
    assert label is not None, "the seed's first issue has labels"
    label_id = to_global_id("Label", label)
    carrying = await connection.scalar(
        text("SELECT count(*) FROM issue_labels WHERE label_id = :l"), {"l": label}
    )

    await gql_as(ADMIN)(
        "mutation ($id: ID!) { labelDelete(input: {id: $id}) { errors { code } } }",
        {"id": label_id},
    )

    messages = [m.payload for m in await webhook_messages(connection, hook)]
    updates = [m for m in messages if m["type"] == "issue.updated"]
    assert len(updates) == carrying
    assert all(
        m["data"]["changes"] == [{"field": "labels", "from": label_id, "to": None}] for m in updates
    )
    assert [m["data"]["object"] for m in messages if m["type"] == "label.deleted"] == [
        {"id": label_id}
    ]


async def test_without_webhooks_a_mutation_pays_one_statement(gql_as, statements):
    await gql_as(MEMBER)("{ viewer { id } }")  # signs in outside the count
    before = statements.count

    await gql_as(MEMBER)(ISSUE_UPDATE, {"input": {"id": ISSUE, "title": "Quiet"}})

    touching = [s for s in statements.statements[before:] if "webhooks" in s]
    assert len(touching) == 1, touching


async def test_with_webhooks_objects_are_read_once_per_type(gql_as, connection, statements):
    hooks = [await add_webhook(connection, "issue.updated") for _ in range(3)]
    before = statements.count

    await gql_as(ADMIN)(
        """mutation ($ids: [ID!]!) { issueBatchUpdate(input: {ids: $ids, changes: {priority: LOW}})
            { errors { code } } }""",
        {"ids": [ISSUE, to_global_id("Issue", ACME_ISSUE_PK + 1)]},
    )

    issue_reads = [s for s in statements.statements[before:] if "AS label_names" in s]
    assert len(issue_reads) == 1
    messages = await webhook_messages(connection, *hooks)
    assert len(messages) == 2 * len(hooks)
