"""The list view of the foundation issue: batched, and pinned in SQL statements."""

from __future__ import annotations

import pytest

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
    # comments page, comment counts, comment authors: one statement each.
    assert statements.count == 11, statements.statements
    assert statements.count <= MAX_STATEMENTS


async def test_nested_pages_are_cut_per_parent_in_sql(gql, statements):
    body = await gql(LIST_VIEW, {"first": 50})

    nodes = body["data"]["workspace"]["issues"]["nodes"]
    for node in nodes:
        comments = node["comments"]
        assert len(comments["nodes"]) == min(comments["totalCount"], 5)
    comment_query = next(
        s for s in statements.statements if "FROM comments" in s and "row_number" in s
    )
    assert "page_rank <=" in comment_query
