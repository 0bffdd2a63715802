"""Cross-tenant probes beyond `node`: nested paths through a shared user, filters naming another
workspace's objects, and what the server log keeps of a request's secrets.

The demo owner belongs to acme (OWNER) and to globex (MEMBER); Olga belongs to globex only.
"""

from __future__ import annotations

import logging

from sqlalchemy import text

from core.ids import to_global_id
from tests.support.actors import OWNER, STRANGER
from tests.support.factories import ACME_PK, GLOBEX_PK


async def test_a_shared_user_shows_a_stranger_only_their_common_workspace(gql_as, connection):
    demo = await connection.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": OWNER})
    query = """query ($id: ID!) { node(id: $id) { ... on User {
        assignedIssues(first: 100) { totalCount nodes { identifier workspace { slug } } } } } }"""

    seen = (await gql_as(STRANGER)(query, {"id": to_global_id("User", demo)}))["data"]["node"]
    everything = (await gql_as(OWNER)(query, {"id": to_global_id("User", demo)}))["data"]["node"]

    slugs = {issue["workspace"]["slug"] for issue in seen["assignedIssues"]["nodes"]}
    assert slugs <= {"globex"}
    own = {issue["workspace"]["slug"] for issue in everything["assignedIssues"]["nodes"]}
    assert "acme" in own  # the probe is meaningful: there are acme issues to leak
    globex_total = await connection.scalar(
        text(
            "SELECT count(*) FROM issues "
            f"WHERE assignee_id = :u AND workspace_id = {GLOBEX_PK} AND archived_at IS NULL"
        ),
        {"u": demo},
    )
    assert seen["assignedIssues"]["totalCount"] == globex_total


async def test_filters_naming_another_workspaces_objects_match_nothing(gql_as, connection):
    async def acme(table: str) -> str:
        return await connection.scalar(
            text(f"SELECT id FROM {table} WHERE workspace_id = {ACME_PK} ORDER BY id LIMIT 1")
        )

    label = to_global_id("Label", await acme("labels"))
    project = to_global_id("Project", await acme("projects"))
    state = to_global_id("WorkflowState", await acme("workflow_states"))
    issue = to_global_id("Issue", await acme("issues"))
    query = """query ($filter: IssueFilter!) { workspace(slug: "globex") {
        issues(filter: $filter) { totalCount nodes { identifier } } } }"""

    for condition in (
        {"labels": {"some": {"id": {"eq": label}}}},
        {"labels": {"some": {"id": {"in": [label]}}}},
        {"project": {"id": {"eq": project}}},
        {"project": {"id": {"in": [project]}}},
        {"state": {"id": {"eq": state}}},
        {"id": {"eq": issue}},
        {"parent": {"id": {"in": [issue]}}},
        {"or": [{"project": {"id": {"eq": project}}}, {"state": {"id": {"eq": state}}}]},
        # An ID of another type than the field's names nothing either.
        {"project": {"id": {"eq": state}}},
        {"labels": {"some": {"id": {"eq": project}}}},
    ):
        body = await gql_as(STRANGER)(query, {"filter": condition})
        assert body["data"]["workspace"]["issues"] == {"totalCount": 0, "nodes": []}, condition


async def test_excluding_another_workspaces_objects_excludes_nothing(gql_as, connection):
    acme_project = await connection.scalar(
        text(f"SELECT id FROM projects WHERE workspace_id = {ACME_PK} LIMIT 1")
    )
    query = """query ($filter: IssueFilter) { workspace(slug: "globex") {
        issues(filter: $filter) { totalCount } } }"""
    everything = await gql_as(STRANGER)(query, {"filter": None})

    body = await gql_as(STRANGER)(
        query, {"filter": {"project": {"id": {"neq": to_global_id("Project", acme_project)}}}}
    )

    total = everything["data"]["workspace"]["issues"]["totalCount"]
    assert total > 0
    assert body["data"]["workspace"]["issues"]["totalCount"] == total


async def test_a_stranger_cannot_list_another_workspaces_issues_through_its_project(
    gql_as, connection
):
    acme_project = await connection.scalar(
        text(f"SELECT id FROM projects WHERE workspace_id = {ACME_PK} LIMIT 1")
    )
    body = await gql_as(STRANGER)(
        "query ($id: ID!) { node(id: $id) { ... on Project { issues { totalCount } } } }",
        {"id": to_global_id("Project", acme_project)},
    )
    assert body == {"data": {"node": None}}


async def test_secrets_in_a_document_never_reach_the_log(gql_as, caplog):
    caplog.set_level(logging.DEBUG)
    body = await gql_as(OWNER)(
        'mutation { tokenRefresh(input: {refreshToken: "blr_do-not-log-me"}) { accessToken } }'
    )

    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "do-not-log-me" not in caplog.text


async def test_webhooks_follow_the_viewers_role_in_each_workspace(gql_as, connection):
    """The demo owner manages acme's webhooks and is a MEMBER of globex: globex's stay hidden
    from them, through every path."""
    hooks = {}
    for workspace in (ACME_PK, GLOBEX_PK):
        hooks[workspace] = await connection.scalar(
            text(
                "INSERT INTO webhooks (workspace_id, url, event_types, secret) VALUES "
                "(:w, 'https://hooks.example.com/', ARRAY['issue.created'], 'whsec_dGVzdA==') "
                "RETURNING id"
            ),
            {"w": workspace},
        )
    owner = gql_as(OWNER)
    listed = await owner(
        """{ acme: workspace(slug: "acme") { webhooks { nodes { id } } }
             globex: workspace(slug: "globex") { webhooks { nodes { id } } } }"""
    )
    assert listed["data"] == {
        "acme": {"webhooks": {"nodes": [{"id": to_global_id("Webhook", hooks[ACME_PK])}]}},
        "globex": {"webhooks": None},
    }
    globex_hook = to_global_id("Webhook", hooks[GLOBEX_PK])
    probe = await owner("query ($id: ID!) { node(id: $id) { id } }", {"id": globex_hook})
    assert probe == {"data": {"node": None}}
    refused = await owner(
        "mutation ($id: ID!) { webhookTest(input: {id: $id}) { errors { code } } }",
        {"id": globex_hook},
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
