"""Writes at the edges: text PostgreSQL cannot store, errors naming the input they are about,
times without an offset, and what a document reports and writes when one of its mutations fails
or a delete reaches other rows. Each test was first a failing probe of a review; they hold the
contract now."""

# ruff: noqa: E501  (GraphQL documents of the probes)

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from tests.support.factories import ACME, ACME_PK, GLOBEX_PK, project_id
from tests.support.factories import ISSUE_CREATE as CREATE
from tests.support.factories import ISSUE_UPDATE as UPDATE
from tests.support.ids import global_ids, ids, to_global_id

UNSTORABLE = ("a\u0000b", "a\ud800b", "\udfff")


@pytest.mark.parametrize("text_value", UNSTORABLE)
async def test_text_postgresql_cannot_store_is_refused_before_anything_runs(
    client, connection, text_value
):
    project = await project_id(connection)
    before = await ids(connection, "SELECT count(*) FROM issues")
    documents = [
        (CREATE, {"input": {"projectId": project, "title": text_value}}),
        (
            CREATE,
            {"input": {"projectId": project, "title": "t", "idempotencyKey": text_value}},
        ),
        (
            'query ($t: String!) { workspace(slug: "acme") { issues(filter: {title: {contains: $t}}) { totalCount } } }',
            {"t": text_value},
        ),
        (
            'query ($t: String!) { workspace(slug: "acme") { search(query: $t) { totalCount } } }',
            {"t": text_value},
        ),
    ]
    for document, variables in documents:
        # Escaped by the standard encoder, as any client would send it.
        raw_body = json.dumps({"query": document, "variables": variables})
        response = await client.post(
            "/graphql",
            content=raw_body,
            headers={
                "content-type": "application/json",
                "accept": "application/graphql-response+json",
            },
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "data" not in response.json()
    assert await ids(connection, "SELECT count(*) FROM issues") == before


async def test_escapes_that_are_text_pass(gql, connection):
    # A description quoting `\u0000` and an emoji sent as a surrogate pair are fine.
    body = await gql(
        CREATE,
        {"input": {"projectId": await project_id(connection), "title": "\\u0000 \U0001f600"}},
    )
    assert body["data"]["issueCreate"]["errors"] == [], body
    assert body["data"]["issueCreate"]["issue"]["title"] == "\\u0000 \U0001f600"


async def test_label_errors_name_the_index_in_the_input(gql, connection):
    other_ws_label = (
        await global_ids(
            connection,
            "Label",
            f"SELECT id FROM labels WHERE workspace_id = {GLOBEX_PK} ORDER BY id LIMIT 1",
        )
    )[0]
    state = (
        await global_ids(
            connection,
            "WorkflowState",
            f"SELECT id FROM workflow_states WHERE workspace_id = {ACME_PK} LIMIT 1",
        )
    )[0]
    issue = (
        await global_ids(
            connection,
            "Issue",
            f"SELECT id FROM issues WHERE workspace_id = {ACME_PK} ORDER BY id LIMIT 1",
        )
    )[0]
    body = await gql(UPDATE, {"input": {"id": issue, "labelIds": [state, other_ws_label]}})
    fields = sorted(e["field"][1] for e in body["data"]["issueUpdate"]["errors"])
    assert fields == ["0", "1"], fields  # observed ['0', '0']


async def test_a_time_without_offset_in_a_filter_is_utc(gql, connection):
    """Run with TZ=America/New_York (passes only when the server process runs in UTC)."""
    row = (
        await connection.execute(
            text(
                f"SELECT created_at FROM issues WHERE workspace_id = {ACME_PK} ORDER BY id LIMIT 1"
            )
        )
    ).one()
    naive = row[0].astimezone(dt.UTC).replace(tzinfo=None).isoformat()
    n = await gql(
        'query ($t: DateTime!) { workspace(slug: "acme") { issues(filter: {createdAt: {eq: $t}}) { nodes { id } } } }',
        {"t": naive},
    )
    assert len(n["data"]["workspace"]["issues"]["nodes"]) == 1, n


# ---- results and what is written --------------------------------------------------------


async def test_a_committed_mutation_is_reported_when_a_later_one_fails(gql, connection):
    doc = """mutation ($a: IssueCreateInput!, $b: IssueUpdateInput!) {
      a: issueCreate(input: $a) { issue { id identifier } errors { code } }
      b: issueUpdate(input: $b) { issue { id } errors { code } } }"""
    body = await gql(
        doc,
        {
            "a": {"projectId": await project_id(connection), "title": "committed-but-unreported"},
            "b": {"id": to_global_id("Issue", 999999999), "title": "x"},
        },
    )
    n = (
        await ids(
            connection, "SELECT count(*) FROM issues WHERE title = 'committed-but-unreported'"
        )
    )[0]
    # The create committed before the update failed: it is written, and reported as such.
    assert n == 1, body
    identifier = (
        await ids(
            connection,
            "SELECT p.key || '-' || i.number FROM issues i JOIN projects p ON p.id = i.project_id "
            "WHERE i.title = 'committed-but-unreported'",
        )
    )[0]
    assert body["data"]["a"]["errors"] == [], body
    assert body["data"]["a"]["issue"]["identifier"] == identifier
    assert body["data"]["b"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["b"], "NOT_FOUND")]


async def test_an_empty_reorder_entry_reads_cleanly(gql, connection):
    await connection.execute(text(f"DELETE FROM labels WHERE workspace_id = {ACME_PK}"))
    r = await gql(
        "mutation ($i: LabelReorderInput!) { labelReorder(input: $i) { errors { code } } }",
        {"i": {"workspaceId": ACME, "labelIds": []}},
    )
    assert r == {"data": {"labelReorder": {"errors": []}}}
    a = await gql(
        '{ workspace(slug: "acme") { activity(last: 5) { nodes { action fromNode { id } toNode { id } } } } }'
    )
    assert "errors" not in a, a
    assert a["data"]["workspace"]["activity"]["nodes"][-1] == {
        "action": "REORDERED",
        "fromNode": None,
        "toNode": None,
    }


async def test_deleting_a_label_bumps_its_issues_versions(gql, connection):
    label = (
        await global_ids(
            connection,
            "Label",
            f"SELECT label_id FROM issue_labels WHERE workspace_id = {ACME_PK} ORDER BY issue_id LIMIT 1",
        )
    )[0]
    issue = (
        await global_ids(
            connection,
            "Issue",
            f"SELECT issue_id FROM issue_labels WHERE workspace_id = {ACME_PK} ORDER BY issue_id LIMIT 1",
        )
    )[0]
    q = "query ($id: ID!) { node(id: $id) { ... on Issue { version } } }"
    before = (await gql(q, {"id": issue}))["data"]["node"]["version"]
    deleted = await gql(
        "mutation ($i: LabelDeleteInput!) { labelDelete(input: $i) { errors { code } } }",
        {"i": {"id": label}},
    )
    assert deleted == {"data": {"labelDelete": {"errors": []}}}
    after = (await gql(q, {"id": issue}))["data"]["node"]["version"]
    assert after == before + 1, (before, after)


async def test_deleting_a_parent_bumps_its_childrens_versions(gql, connection):
    a, b = await global_ids(
        connection,
        "Issue",
        f"SELECT id FROM issues WHERE workspace_id = {ACME_PK} ORDER BY id LIMIT 2",
    )
    await gql(UPDATE, {"input": {"id": b, "parentId": a}})
    q = "query ($id: ID!) { node(id: $id) { ... on Issue { version parent { id } } } }"
    before = (await gql(q, {"id": b}))["data"]["node"]
    deleted = await gql(
        "mutation ($i: IssueDeleteInput!) { issueDelete(input: $i) { errors { code } } }",
        {"i": {"id": a}},
    )
    assert deleted == {"data": {"issueDelete": {"errors": []}}}
    after = (await gql(q, {"id": b}))["data"]["node"]
    assert before["parent"] == {"id": a}
    assert after["parent"] is None
    assert after["version"] == before["version"] + 1, (before, after)
