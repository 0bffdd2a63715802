"""The list view of the foundation issue: batched, and pinned in SQL statements."""

from __future__ import annotations

import pytest
from sqlalchemy import text

LIST_VIEW = """
query ListView($first: Int!) {
  workspace(slug: "acme") {
    issues(first: $first) {
      totalCount
      nodes {
        identifier title priority
        state { name type }
        assignee { name }
        project { key name }
        labels(first: 10) { nodes { name } }
        comments(first: 5) { totalCount nodes { body author { name } } }
      }
    }
  }
}
"""

MAX_STATEMENTS = 12


@pytest.mark.parametrize("first", [5, 100])
async def test_list_view_statement_count_is_constant_in_page_size(gql, statements, first):
    body = await gql(LIST_VIEW, {"first": first})

    assert "errors" not in body
    issues = body["data"]["workspace"]["issues"]
    assert len(issues["nodes"]) == first
    assert issues["totalCount"] == 150
    # Viewer, workspace, issues page, issue count, states, assignees, projects, labels,
    # comments page (which counts each issue's comments too), comment authors.
    assert statements.count == 10, statements.statements
    assert statements.count <= MAX_STATEMENTS


async def test_nested_pages_are_cut_per_parent_in_sql(gql, statements):
    body = await gql(LIST_VIEW, {"first": 50})

    nodes = body["data"]["workspace"]["issues"]["nodes"]
    for node in nodes:
        comments = node["comments"]
        assert len(comments["nodes"]) == min(comments["totalCount"], 5)
    comment_query = next(s for s in statements.statements if "FROM comments" in s)
    # Each issue's page is a LATERAL subquery with its own LIMIT: no parent's whole list is read.
    assert "JOIN LATERAL" in comment_query and "LIMIT" in comment_query


async def test_nested_totals_counted_with_their_pages_are_exact(gql, connection):
    body = await gql(LIST_VIEW, {"first": 50})
    issues = body["data"]["workspace"]["issues"]["nodes"]
    rows = await connection.execute(
        text(
            "SELECT p.key || '-' || i.number AS identifier, count(c.id) AS total FROM issues i "
            "JOIN projects p ON p.id = i.project_id LEFT JOIN comments c ON c.issue_id = i.id "
            "GROUP BY p.key, i.number"
        )
    )
    expected = {row.identifier: row.total for row in rows}
    assert {i["identifier"]: i["comments"]["totalCount"] for i in issues} == {
        i["identifier"]: expected[i["identifier"]] for i in issues
    }


async def test_a_total_next_to_a_cursor_page_counts_the_whole_list(gql):
    listed = await gql(
        """{ workspace(slug: "acme") { issues(first: 50) { nodes {
            identifier comments(first: 1) { totalCount edges { cursor } } } } } }"""
    )
    issue = next(
        node
        for node in listed["data"]["workspace"]["issues"]["nodes"]
        if node["comments"]["totalCount"] >= 3
    )
    paged = await gql(
        """query ($identifier: String!, $after: String!) { workspace(slug: "acme") {
            issue(identifier: $identifier) { comments(first: 1, after: $after) {
              totalCount nodes { body } } } } }""",
        {"identifier": issue["identifier"], "after": issue["comments"]["edges"][0]["cursor"]},
    )
    comments = paged["data"]["workspace"]["issue"]["comments"]
    assert len(comments["nodes"]) == 1
    assert comments["totalCount"] == issue["comments"]["totalCount"]
