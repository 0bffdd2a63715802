"""Relay cursor connections: paging forward and backward, limits, cursors and page info."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.factories import add_project, create_issue, live_issue_count
from tests.support.graphql import assert_bad_input
from tests.support.ids import raw_global_id

ISSUE_PAGE = """
query IssuePage(
  $first: Int, $after: String, $last: Int, $before: String,
  $orderBy: [IssueOrder!], $filter: IssueFilter
) {
  workspace(slug: "acme") {
    issues(
      first: $first, after: $after, last: $last, before: $before,
      orderBy: $orderBy, filter: $filter
    ) {
      totalCount
      edges { cursor node { id identifier priority } }
      nodes { id identifier priority }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""

STATE_PAGE = """
query StatePage($first: Int, $after: String, $last: Int, $before: String) {
  workspace(slug: "acme") {
    workflowStates(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      edges { cursor node { id name position } }
      nodes { id name position }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""

PRIORITY_ORDER = ["URGENT", "HIGH", "MEDIUM", "LOW", "NONE"]


@pytest.fixture
async def issue_count(connection) -> int:
    """Issues acme lists by default (the seed's, read rather than assumed)."""
    count = await live_issue_count(connection)
    assert count > 100, count  # more than the largest page: paging must take several pages
    return count


async def issue_page(gql, **variables: Any) -> dict[str, Any]:
    body = await gql(ISSUE_PAGE, variables)
    assert "errors" not in body, body["errors"]
    return body["data"]["workspace"]["issues"]


def assert_edges_match_nodes(connection: dict[str, Any]) -> None:
    assert [edge["node"] for edge in connection["edges"]] == connection["nodes"]
    cursors = [edge["cursor"] for edge in connection["edges"]]
    if cursors:
        assert connection["pageInfo"]["startCursor"] == cursors[0]
        assert connection["pageInfo"]["endCursor"] == cursors[-1]


async def collect_forward(gql, size: int, **variables: Any) -> list[dict[str, Any]]:
    """Every issue, page by page with `first`/`after`, checking each page's page info."""
    collected: list[dict[str, Any]] = []
    after = None
    while True:
        page = await issue_page(gql, first=size, after=after, **variables)
        assert_edges_match_nodes(page)
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        collected.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return collected
        assert len(page["nodes"]) == size
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize("size", [7, 40, 50, 100])
async def test_forward_paging_visits_every_issue_once(gql, issue_count, size):
    collected = await collect_forward(gql, size)

    ids = [issue["id"] for issue in collected]
    assert len(ids) == issue_count
    assert len(set(ids)) == issue_count
    # The last page holds the remainder (or a full page when it divides evenly).
    assert len(collected) - (issue_count // size) * size == issue_count % size


async def test_forward_paging_matches_one_big_page_order(gql):
    first_hundred = await issue_page(gql, first=100)
    paged = await collect_forward(gql, 30)

    assert paged[:100] == first_hundred["nodes"]


async def test_has_next_page_is_true_until_the_last_page(gql, issue_count):
    first = await issue_page(gql, first=100)
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    second = await issue_page(gql, first=49, after=first["pageInfo"]["endCursor"])
    assert second["pageInfo"]["hasNextPage"] is True

    last = await issue_page(gql, first=10, after=second["pageInfo"]["endCursor"])
    assert len(last["nodes"]) == 1
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["pageInfo"]["hasPreviousPage"] is True
    assert last["totalCount"] == issue_count


async def test_an_exact_page_has_no_next_page(gql):
    body = await gql(STATE_PAGE, {"first": 6})

    states = body["data"]["workspace"]["workflowStates"]
    assert states["totalCount"] == 6
    assert len(states["nodes"]) == 6
    assert states["pageInfo"]["hasNextPage"] is False
    assert states["pageInfo"]["hasPreviousPage"] is False
    assert [s["position"] for s in states["nodes"]] == sorted(
        s["position"] for s in states["nodes"]
    )
    assert_edges_match_nodes(states)


async def test_paging_past_the_end_is_an_empty_page(gql):
    body = await gql(STATE_PAGE, {"first": 6})
    end = body["data"]["workspace"]["workflowStates"]["pageInfo"]["endCursor"]

    body = await gql(STATE_PAGE, {"first": 6, "after": end})

    states = body["data"]["workspace"]["workflowStates"]
    assert states["edges"] == []
    assert states["nodes"] == []
    assert states["pageInfo"]["hasNextPage"] is False
    assert states["pageInfo"]["startCursor"] is None
    assert states["pageInfo"]["endCursor"] is None
    assert states["totalCount"] == 6


EMPTY_PAGE_INFO = {
    "hasNextPage": False,
    "hasPreviousPage": False,
    "startCursor": None,
    "endCursor": None,
}


async def test_a_filter_matching_nothing_gives_an_empty_connection(gql):
    page = await issue_page(
        gql, first=10, filter={"priority": {"eq": "URGENT"}, "dueDate": {"lt": "1900-01-01"}}
    )

    assert page == {"totalCount": 0, "edges": [], "nodes": [], "pageInfo": EMPTY_PAGE_INFO}


async def test_a_project_without_urgent_issues_gives_an_empty_connection(gql, connection):
    quiet = await add_project(connection, "QUIET")
    await create_issue(gql, connection, projectId=quiet, priority="LOW")

    in_project = {"project": {"id": {"eq": quiet}}}
    everything = await issue_page(gql, filter=in_project)
    page = await issue_page(gql, filter={"priority": {"eq": "URGENT"}, **in_project})

    assert everything["totalCount"] == 1
    assert page == {"totalCount": 0, "edges": [], "nodes": [], "pageInfo": EMPTY_PAGE_INFO}


async def test_children_of_an_issue_without_any_are_an_empty_connection(gql):
    body = await gql(
        """
        { workspace(slug: "acme") { issues(first: 100) { nodes {
            identifier
            children(first: 5) {
              totalCount edges { cursor } nodes { id }
              pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            }
        } } } }
        """
    )

    issues = body["data"]["workspace"]["issues"]["nodes"]
    childless = [i["children"] for i in issues if i["children"]["totalCount"] == 0]
    assert childless
    assert childless[0] == {"totalCount": 0, "edges": [], "nodes": [], "pageInfo": EMPTY_PAGE_INFO}


@pytest.mark.parametrize("size", [7, 50])
async def test_backward_paging_returns_the_forward_order(gql, size):
    forward = await collect_forward(gql, size)

    backward: list[dict[str, Any]] = []
    before = None
    while True:
        page = await issue_page(gql, last=size, before=before)
        assert_edges_match_nodes(page)
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        backward[:0] = page["nodes"]
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        assert len(page["nodes"]) == size
        before = page["pageInfo"]["startCursor"]

    assert [i["identifier"] for i in backward] == [i["identifier"] for i in forward]


async def test_last_page_is_the_tail_of_the_list(gql):
    everything = await collect_forward(gql, 100)

    page = await issue_page(gql, last=3)

    assert page["nodes"] == everything[-3:]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert page["pageInfo"]["hasNextPage"] is False


async def test_last_covering_the_whole_list_has_no_previous_page(gql):
    body = await gql(STATE_PAGE, {"last": 6})

    states = body["data"]["workspace"]["workflowStates"]
    assert len(states["nodes"]) == 6
    assert states["pageInfo"]["hasPreviousPage"] is False
    assert states["pageInfo"]["hasNextPage"] is False


async def test_after_and_before_together_give_the_rows_between(gql):
    body = await gql(STATE_PAGE, {"first": 6})
    states = body["data"]["workspace"]["workflowStates"]
    cursors = [edge["cursor"] for edge in states["edges"]]

    body = await gql(STATE_PAGE, {"first": 10, "after": cursors[0], "before": cursors[4]})

    between = body["data"]["workspace"]["workflowStates"]
    assert between["nodes"] == states["nodes"][1:4]


async def test_first_zero_returns_no_rows(gql, issue_count):
    page = await issue_page(gql, first=0)

    assert page["edges"] == []
    assert page["nodes"] == []
    assert page["pageInfo"]["startCursor"] is None
    assert page["pageInfo"]["endCursor"] is None
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["totalCount"] == issue_count


async def test_default_page_size_is_50(gql):
    page = await issue_page(gql)

    assert len(page["nodes"]) == 50
    assert page["pageInfo"]["hasNextPage"] is True


async def test_default_page_size_applies_backwards_from_a_cursor(gql):
    first = await issue_page(gql, first=100)

    page = await issue_page(gql, before=first["pageInfo"]["endCursor"])

    # `before` alone pages forward from the start, up to the cursor.
    assert page["nodes"] == first["nodes"][:50]


@pytest.mark.parametrize("argument", ["first", "last"])
async def test_a_page_of_100_is_allowed(gql, argument):
    page = await issue_page(gql, **{argument: 100})

    assert len(page["nodes"]) == 100


@pytest.mark.parametrize("argument", ["first", "last"])
async def test_more_than_100_is_refused(gql, argument):
    body = await gql(ISSUE_PAGE, {argument: 101})

    error = assert_bad_input(body)
    assert error["message"] == (
        "Requesting 101 records on the `issues` connection exceeds "
        f"the `{argument}` limit of 100 records."
    )
    assert error["extensions"]["limit"] == 100
    assert error["path"] == ["workspace", "issues"]


async def test_first_and_last_together_are_refused(gql):
    body = await gql(ISSUE_PAGE, {"first": 5, "last": 5})

    error = assert_bad_input(body)
    assert "`first` and `last`" in error["message"]


@pytest.mark.parametrize("argument", ["first", "last"])
async def test_a_negative_page_size_is_refused(gql, argument):
    body = await gql(ISSUE_PAGE, {argument: -1})

    error = assert_bad_input(body)
    assert f"`{argument}`" in error["message"]
    assert "negative" in error["message"]


async def test_limits_apply_to_nested_connections(gql):
    body = await gql('{ workspace(slug: "acme") { labels(first: 101) { totalCount } } }')

    error = assert_bad_input(body)
    assert "`labels` connection" in error["message"]


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "!!!", "", "bnVsbA", "W10", "WzEsMl0", "eyJhIjogMX0", "WyJub3QgYSBkYXRlIiwxXQ"],
    ids=["word", "not-base64", "empty", "null", "empty-list", "ints", "object", "bad-date"],
)
@pytest.mark.parametrize("argument", ["after", "before"])
async def test_a_malformed_cursor_is_refused(gql, argument, cursor):
    body = await gql(ISSUE_PAGE, {"first": 5, argument: cursor})

    error = assert_bad_input(body)
    assert "not a valid cursor for the `issues` connection" in error["message"]


async def test_a_cursor_from_a_connection_with_another_ordering_is_refused(gql):
    body = await gql(STATE_PAGE, {"first": 2})
    state_cursor = body["data"]["workspace"]["workflowStates"]["pageInfo"]["endCursor"]

    body = await gql(ISSUE_PAGE, {"first": 5, "after": state_cursor})

    assert_bad_input(body)


async def test_a_priority_ordered_cursor_is_refused_by_the_default_ordering(gql):
    page = await issue_page(gql, first=2, orderBy=[{"field": "PRIORITY", "direction": "ASC"}])

    body = await gql(ISSUE_PAGE, {"first": 5, "after": page["pageInfo"]["endCursor"]})

    assert_bad_input(body)


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_ordering_by_priority_pages_stably(gql, issue_count, direction):
    order = [{"field": "PRIORITY", "direction": direction}]

    collected = await collect_forward(gql, 40, orderBy=order)

    ids = [issue["id"] for issue in collected]
    assert len(ids) == issue_count
    assert len(set(ids)) == issue_count
    ranks = [PRIORITY_ORDER.index(issue["priority"]) for issue in collected]
    assert ranks == sorted(ranks, reverse=direction == "DESC")
    assert len(set(ranks)) > 1


async def test_ordering_by_priority_pages_backward_too(gql):
    order = [{"field": "PRIORITY", "direction": "ASC"}]
    forward = await collect_forward(gql, 40, orderBy=order)

    backward: list[dict[str, Any]] = []
    before = None
    while True:
        page = await issue_page(gql, last=40, before=before, orderBy=order)
        backward[:0] = page["nodes"]
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]

    assert [i["id"] for i in backward] == [i["id"] for i in forward]


COMMENT_PAGE = """
query CommentPage($identifier: String!, $first: Int, $after: String) {
  workspace(slug: "acme") {
    issue(identifier: $identifier) {
      comments(first: $first, after: $after) {
        totalCount
        edges { cursor node { id body } }
        nodes { id body }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }
}
"""


async def test_nested_comments_page_through_one_issue(gql):
    body = await gql(
        """
        { workspace(slug: "acme") { issues(first: 100) { nodes {
            identifier comments { totalCount }
        } } } }
        """
    )
    issues = body["data"]["workspace"]["issues"]["nodes"]
    busiest = max(issues, key=lambda i: i["comments"]["totalCount"])
    total = busiest["comments"]["totalCount"]
    assert total >= 3
    everything = await gql(COMMENT_PAGE, {"identifier": busiest["identifier"], "first": 100})
    all_comments = everything["data"]["workspace"]["issue"]["comments"]["nodes"]
    assert len(all_comments) == total

    collected: list[dict[str, Any]] = []
    after = None
    while True:
        body = await gql(
            COMMENT_PAGE, {"identifier": busiest["identifier"], "first": 2, "after": after}
        )
        assert "errors" not in body, body["errors"]
        comments = body["data"]["workspace"]["issue"]["comments"]
        assert_edges_match_nodes(comments)
        assert comments["totalCount"] == total
        assert comments["pageInfo"]["hasPreviousPage"] is (after is not None)
        collected.extend(comments["nodes"])
        if not comments["pageInfo"]["hasNextPage"]:
            break
        assert len(comments["nodes"]) == 2
        after = comments["pageInfo"]["endCursor"]

    assert collected == all_comments


async def test_nested_pages_differ_per_parent_and_refuse_bad_cursors(gql):
    body = await gql(
        """
        { workspace(slug: "acme") { issues(first: 100) { nodes {
            identifier comments(first: 1) { nodes { id } pageInfo { endCursor } }
        } } } }
        """
    )
    with_comments = [
        i for i in body["data"]["workspace"]["issues"]["nodes"] if i["comments"]["nodes"]
    ]
    assert len(with_comments) >= 2
    first, second = with_comments[:2]
    assert first["comments"]["nodes"] != second["comments"]["nodes"]

    body = await gql(
        COMMENT_PAGE, {"identifier": second["identifier"], "first": 1, "after": "garbage"}
    )

    # The non-null connection's error nulls the nullable issue above it, not the workspace.
    assert body["data"]["workspace"]["issue"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["workspace", "issue", "comments"]


async def test_edges_nodes_equal_nodes_for_every_connection(gql):
    body = await gql(
        """
        { workspace(slug: "acme") {
            projects { edges { node { id key } } nodes { id key } }
            members { edges { node { id role } } nodes { id role } }
            labels { edges { node { id name } } nodes { id name } }
            workflowStates { edges { node { id name } } nodes { id name } }
            issues(first: 20) { edges { node { id identifier } } nodes { id identifier } }
        } }
        """
    )

    assert "errors" not in body, body.get("errors")
    workspace = body["data"]["workspace"]
    for name, connection in workspace.items():
        assert connection["nodes"], name
        assert [edge["node"] for edge in connection["edges"]] == connection["nodes"], name


@pytest.mark.parametrize(
    ("query", "cursor"),
    [
        (ISSUE_PAGE, f'["created_at-,id-","2020-01-01T00:00:00+00:00",{2**63}]'),
        (STATE_PAGE, f'["position+,id+",{2**31},1]'),
    ],
    ids=["issue-id-beyond-bigint", "position-beyond-integer"],
)
async def test_a_cursor_with_out_of_range_values_is_refused(gql, query, cursor):
    body = await gql(query, {"first": 5, "after": raw_global_id(cursor)})

    assert_bad_input(body)


async def test_an_issue_cursor_is_refused_by_labels(gql):
    page = await issue_page(gql, first=1)

    body = await gql(
        """
        query Labels($after: String) {
          workspace(slug: "acme") { labels(first: 3, after: $after) { nodes { name } } }
        }
        """,
        {"after": page["pageInfo"]["endCursor"]},
    )

    assert_bad_input(body)


async def test_a_cursor_of_another_issue_ordering_is_refused(gql):
    order = [{"field": "UPDATED_AT", "direction": "ASC"}]
    page = await issue_page(gql, first=1, orderBy=order)

    body = await gql(ISSUE_PAGE, {"first": 5, "after": page["pageInfo"]["endCursor"]})

    assert_bad_input(body)
