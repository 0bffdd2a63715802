"""The activity log as clients read it: `issue.history`, `workspace.activity`, `node`."""

from __future__ import annotations

from tests.support.actors import MEMBER, STRANGER
from tests.support.factories import ACME_PK, create_issue
from tests.support.factories import ISSUE_UPDATE as UPDATE
from tests.support.ids import global_ids

HISTORY = """query ($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Issue {
    history(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id action field fromValue toValue subjectType actor { email }
                fromNode { id } toNode { id ... on WorkflowState { name } }
                subject { id } issue { id } }
    } } } }"""


async def test_history_lists_every_change_in_order_with_references(gql, connection):
    issue = (await create_issue(gql, connection, title="logged"))["issue"]
    (member,) = await global_ids(
        connection, "User", "SELECT id FROM users WHERE email = :e", e=MEMBER
    )
    (started,) = await global_ids(
        connection,
        "WorkflowState",
        f"SELECT id FROM workflow_states WHERE workspace_id = {ACME_PK} AND name = 'In Progress'",
    )
    await gql(UPDATE, {"input": {"id": issue["id"], "assigneeId": member, "stateId": started}})
    await gql(
        """mutation ($id: ID!) { commentCreate(input: {issueId: $id, body: "hi"}) {
        errors { code } } }""",
        {"id": issue["id"]},
    )
    body = await gql(HISTORY, {"id": issue["id"], "first": 10})
    history = body["data"]["node"]["history"]
    assert history["totalCount"] == 4
    entries = history["nodes"]
    assert [(e["action"], e["field"], e["subjectType"]) for e in entries] == [
        ("CREATED", None, "Issue"),
        ("UPDATED", "state", "Issue"),
        ("UPDATED", "assignee", "Issue"),
        ("CREATED", None, "Comment"),
    ]
    by_field = {e["field"]: e for e in entries}
    assert by_field["assignee"]["toValue"] == member
    assert by_field["assignee"]["toNode"] == {"id": member}
    assert by_field["state"]["toNode"]["name"] == "In Progress"
    assert by_field["state"]["fromNode"] is not None
    assert {e["actor"]["email"] for e in entries} == {"demo@backlog.dev"}
    assert all(e["issue"]["id"] == issue["id"] for e in entries)
    assert entries[0]["subject"]["id"] == issue["id"]

    # Pages in order, and every entry is a node.
    first = await gql(HISTORY, {"id": issue["id"], "first": 2})
    page = first["data"]["node"]["history"]
    rest = await gql(
        HISTORY, {"id": issue["id"], "first": 10, "after": page["pageInfo"]["endCursor"]}
    )
    assert [e["id"] for e in page["nodes"] + rest["data"]["node"]["history"]["nodes"]] == [
        e["id"] for e in entries
    ]
    node = await gql(
        "query ($id: ID!) { node(id: $id) { ... on ActivityEntry { action } } }",
        {"id": entries[0]["id"]},
    )
    assert node["data"]["node"] == {"action": "CREATED"}


async def test_workspace_activity_is_scoped_and_ordered(gql, gql_as, connection):
    await create_issue(gql, connection, title="seen by members")
    query = """{ workspace(slug: "acme") { activity(last: 5) { nodes { id action } } } }"""
    body = await gql(query)
    nodes = body["data"]["workspace"]["activity"]["nodes"]
    assert nodes[-1]["action"] == "CREATED"
    stranger = await gql_as(STRANGER)(query)
    assert stranger["data"]["workspace"] is None
    probe = await gql_as(STRANGER)(
        "query ($id: ID!) { node(id: $id) { id } }", {"id": nodes[-1]["id"]}
    )
    assert probe["data"]["node"] is None


async def test_history_costs_the_same_statements_for_any_page_size(gql, connection, statements):
    issue = (await create_issue(gql, connection, title="counted"))["issue"]
    for title in ("a", "b", "c", "d"):
        await gql(UPDATE, {"input": {"id": issue["id"], "title": title}})
    counts = []
    for first in (1, 5):
        before = statements.count
        await gql(HISTORY, {"id": issue["id"], "first": first})
        counts.append(statements.count - before)
    assert counts[0] == counts[1]
