"""The list view of the foundation issue, and the same list filtered and ordered: batched, and
pinned in SQL statements; filters that differ in values only share their statements."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.util import LRUCache

from db import pagination
from tests.support.factories import live_issue_count
from tests.support.issue_rows import ISSUES

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


@pytest.mark.parametrize("first", [5, 100])
async def test_list_view_statement_count_is_constant_in_page_size(
    gql, connection, statements, first
):
    body = await gql(LIST_VIEW, {"first": first})

    assert "errors" not in body
    issues = body["data"]["workspace"]["issues"]
    assert len(issues["nodes"]) == first
    # Viewer, workspace, issues page (with their states, assignees and projects), issue count,
    # labels, comments page (with their authors, and counting each issue's comments too).
    assert statements.count == 6, statements.statements
    assert issues["totalCount"] == await live_issue_count(connection)  # counted after the pin


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


FILTERED_LIST_VIEW = """
query ($first: Int!, $filter: IssueFilter, $orderBy: [IssueOrder!]) {
  workspace(slug: "acme") {
    issues(first: $first, filter: $filter, orderBy: $orderBy) {
      totalCount
      nodes {
        identifier title priority dueDate
        state { name } assignee { name } project { key }
        labels(first: 10) { nodes { name } }
        children(first: 3, filter: {state: {type: {neq: CANCELED}}}) {
          totalCount nodes { identifier }
        }
      }
    }
  }
}
"""

A_BUSY_FILTER = {
    "state": {"type": {"nin": ["CANCELED"]}},
    "or": [
        {"assignee": {"isMe": True}},
        {"labels": {"some": {"name": {"in": ["Bug", "Feature", "Docs"]}}}},
        {"priority": {"lte": "MEDIUM"}, "dueDate": {"null": False}},
    ],
    "not": {"title": {"containsIgnoreCase": "zzz"}},
}


@pytest.mark.parametrize("first", [5, 100])
async def test_a_filtered_ordered_list_costs_the_same_statements_at_any_page_size(
    gql, statements, first
):
    body = await gql(
        FILTERED_LIST_VIEW,
        {
            "first": first,
            "filter": A_BUSY_FILTER,
            "orderBy": [{"field": "DUE_DATE"}, {"field": "PRIORITY", "direction": "DESC"}],
        },
    )

    assert "errors" not in body, body["errors"]
    issues = body["data"]["workspace"]["issues"]
    assert len(issues["nodes"]) == min(first, issues["totalCount"])
    assert issues["totalCount"] > 5
    # Viewer, workspace, issues page (with their states, assignees and projects), issue count,
    # labels, children page (counting each issue's children too).
    assert statements.count == 6, statements.statements


async def test_filters_differing_in_values_share_one_statement(gql, statements):
    variants = [
        {"priority": {"in": ["URGENT"]}, "labels": {"some": {"name": {"eq": "Bug"}}}},
        {"priority": {"in": ["LOW", "NONE", "HIGH"]}, "labels": {"some": {"name": {"eq": "Docs"}}}},
    ]
    texts = []
    for variant in variants:
        statements.statements.clear()
        body = await gql(ISSUES, {"filter": variant, "first": 3})
        assert "errors" not in body, body["errors"]
        texts.append(sorted(s for s in statements.statements if "FROM issues" in s))

    assert texts[0] == texts[1]
    assert "'Bug'" not in " ".join(texts[0])  # values are parameters, never inlined


async def test_the_statement_cache_is_bounded(gql, monkeypatch):
    small: LRUCache[Any, Any] = LRUCache(8, threshold=0.5)
    monkeypatch.setattr(pagination, "_SHAPED", small)

    for depth in range(1, 30):
        filter: dict[str, Any] = {"priority": {"neq": "NONE"}}
        for _ in range(depth % 4):
            filter = {"not": filter}
        filter["number"] = {"gt": depth} if depth % 2 else {"lt": depth}
        filter["title"] = {"contains": "a"} if depth % 3 else {"startsWith": "a"}
        body = await gql(ISSUES, {"filter": filter, "first": 2})
        assert "errors" not in body, body["errors"]
        assert len(small) <= 12

    assert len(small) > 0
