"""`Workspace.issueGroups`, the board view: groups, counts, pages and a fixed statement count."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from core.ids import to_global_id
from tests.support.actors import STRANGER
from tests.support.factories import ACME, ACME_PK, GLOBEX_PK

BOARD = """
query Board($first: Int, $filter: IssueFilter, $orderBy: [IssueOrder!]) {
  workspace(slug: "acme") {
    issueGroups(first: $first, filter: $filter, orderBy: $orderBy) {
      state { id name position }
      project { key }
      totalCount
      issues {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { identifier priority state { name } }
      }
    }
  }
}
"""


def groups_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert "errors" not in body, body["errors"]
    return body["data"]["workspace"]["issueGroups"]


async def per_state_counts(connection: Any, condition: str = "true") -> dict[str, int]:
    rows = await connection.execute(
        text(
            f"""SELECT s.name, count(i.id) AS total FROM workflow_states s
            LEFT JOIN issues i ON i.state_id = s.id AND i.archived_at IS NULL AND {condition}
            WHERE s.workspace_id = {ACME_PK} GROUP BY s.name"""
        )
    )
    return {row.name: row.total for row in rows}


async def test_every_state_is_a_group_in_board_order_with_exact_counts(gql, connection):
    states = [
        row.name
        for row in await connection.execute(
            text(
                f"SELECT name FROM workflow_states WHERE workspace_id = {ACME_PK} ORDER "
                "BY position, id"
            )
        )
    ]
    expected = await per_state_counts(connection)

    groups = groups_of(await gql(BOARD, {"first": 5}))

    assert [group["state"]["name"] for group in groups] == states
    assert {group["state"]["name"]: group["totalCount"] for group in groups} == expected
    assert sum(expected.values()) == 150  # every live issue of the demo is on the board
    for group in groups:
        issues = group["issues"]
        assert group["project"] is None
        assert issues["totalCount"] == group["totalCount"]
        assert len(issues["nodes"]) == min(5, group["totalCount"])
        assert issues["pageInfo"]["hasNextPage"] == (group["totalCount"] > 5)
        assert {node["state"]["name"] for node in issues["nodes"]} <= {group["state"]["name"]}


async def test_a_filter_narrows_every_group_and_its_count(gql, connection):
    expected = await per_state_counts(connection, "i.priority IN ('URGENT', 'HIGH')")

    groups = groups_of(
        await gql(BOARD, {"first": 100, "filter": {"priority": {"in": ["URGENT", "HIGH"]}}})
    )

    assert {group["state"]["name"]: group["totalCount"] for group in groups} == expected
    for group in groups:
        assert len(group["issues"]["nodes"]) == group["totalCount"]
        assert {node["priority"] for node in group["issues"]["nodes"]} <= {"URGENT", "HIGH"}


async def test_archived_issues_are_left_out_unless_the_filter_asks(gql, connection):
    await connection.execute(
        text(
            "UPDATE issues SET archived_at = now() WHERE id IN "
            f"(SELECT id FROM issues WHERE workspace_id = {ACME_PK} ORDER BY id LIMIT 7)"
        )
    )

    live = groups_of(await gql(BOARD, {"first": 1}))
    everything = groups_of(await gql(BOARD, {"first": 1, "filter": {"includeArchived": True}}))

    assert sum(group["totalCount"] for group in live) == 143
    assert sum(group["totalCount"] for group in everything) == 150


async def test_empty_states_are_groups_too(gql, connection):
    await connection.execute(
        text(
            "INSERT INTO workflow_states (workspace_id, name, type, position) "
            "VALUES (1, 'Parked', 'BACKLOG', 1000)"
        )
    )

    groups = groups_of(await gql(BOARD, {"first": 5}))

    parked = groups[-1]
    assert parked["state"]["name"] == "Parked"
    assert parked["totalCount"] == 0
    assert parked["issues"]["nodes"] == [] and not parked["issues"]["pageInfo"]["hasNextPage"]


async def test_issues_within_a_group_follow_order_by(gql):
    groups = groups_of(
        await gql(BOARD, {"first": 20, "orderBy": [{"field": "PRIORITY", "direction": "ASC"}]})
    )

    order = ["URGENT", "HIGH", "MEDIUM", "LOW", "NONE"]
    for group in groups:
        priorities = [order.index(node["priority"]) for node in group["issues"]["nodes"]]
        assert priorities == sorted(priorities)


async def test_a_groups_end_cursor_continues_in_workspace_issues(gql):
    (group, *_) = [g for g in groups_of(await gql(BOARD, {"first": 3})) if g["totalCount"] > 6]
    more = await gql(
        """query ($state: ID!, $after: String!) { workspace(slug: "acme") {
            issues(first: 3, after: $after, filter: {state: {id: {eq: $state}}}) {
              nodes { identifier } } } }""",
        {"state": group["state"]["id"], "after": group["issues"]["pageInfo"]["endCursor"]},
    )

    first_page = {node["identifier"] for node in group["issues"]["nodes"]}
    next_page = {node["identifier"] for node in more["data"]["workspace"]["issues"]["nodes"]}
    assert len(next_page) == 3 and not first_page & next_page


async def test_grouping_by_project(gql, connection):
    expected = {
        row.key: row.total
        for row in await connection.execute(
            text(
                f"""SELECT p.key, count(i.id) AS total FROM projects p
                LEFT JOIN issues i ON i.project_id = p.id AND i.archived_at IS NULL
                WHERE p.workspace_id = {ACME_PK} GROUP BY p.key"""
            )
        )
    }
    body = await gql(
        """{ workspace(slug: "acme") { issueGroups(by: PROJECT, first: 2) {
            state { name } project { key } totalCount issues { nodes { identifier } } } } }"""
    )

    groups = body["data"]["workspace"]["issueGroups"]
    assert [group["project"]["key"] for group in groups] == sorted(expected)
    assert {group["project"]["key"]: group["totalCount"] for group in groups} == expected
    for group in groups:
        assert group["state"] is None
        assert all(
            n["identifier"].startswith(group["project"]["key"] + "-")
            for n in group["issues"]["nodes"]
        )


@pytest.mark.parametrize("extra_states", [0, 4])
@pytest.mark.parametrize("first", [1, 25])
async def test_statement_count_is_constant_in_page_size_and_groups(
    gql, connection, statements, first, extra_states
):
    for n in range(extra_states):
        await connection.execute(
            text(
                "INSERT INTO workflow_states (workspace_id, name, type, position) "
                "VALUES (1, :name, 'BACKLOG', :position)"
            ),
            {"name": f"Extra {n}", "position": 100 + n},
        )
    statements.statements.clear()

    groups = groups_of(await gql(BOARD, {"first": first}))

    assert len(groups) == 6 + extra_states
    assert max(len(group["issues"]["nodes"]) for group in groups) == first
    # Viewer, workspace, the states, every group's page (with the issues' states), every
    # group's count.
    assert statements.count == 5, statements.statements


async def test_page_size_is_limited_like_every_connection(gql):
    body = await gql(BOARD, {"first": 101})

    assert body["data"] == {"workspace": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["path"] == ["workspace", "issueGroups"]


async def test_a_stranger_sees_no_board(gql_as):
    body = await gql_as(STRANGER)(BOARD, {"first": 5})

    assert body == {"data": {"workspace": None}}


async def test_boards_of_several_workspaces_cost_the_same_statements(gql, statements):
    query = """query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Workspace { slug
        issueGroups(first: 2) { state { name } totalCount issues { nodes { identifier } } } } } }"""
    ids = [ACME, to_global_id("Workspace", GLOBEX_PK)]

    statements.statements.clear()
    body = await gql(query, {"ids": ids})

    acme, globex = body["data"]["nodes"]
    assert sum(group["totalCount"] for group in acme["issueGroups"]) == 150
    assert sum(group["totalCount"] for group in globex["issueGroups"]) > 0
    # Viewer, the workspaces, every state of both, every group's page, every group's count.
    assert statements.count == 5, statements.statements
