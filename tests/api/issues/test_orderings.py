"""Multi-key issue orderings with cursors, walked page by page in both directions: every key
in each direction, ties and unset values, filters and nested lists.

Every expectation is computed in Python from a snapshot of the seeded rows read with plain SQL
(`tests.support.issue_rows`), so the API's SQL is checked against an independent reading.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.ids import to_global_id
from tests.support.issue_rows import ISSUES, IssueRow, live, rank, snapshot


def sort_key(orders: list[tuple[str, str]]) -> Callable[[IssueRow], Any]:
    """What the API promises: each key in its direction, unset values last either way, then
    the id in the last key's direction."""
    attributes = {
        "CREATED_AT": "created_at",
        "UPDATED_AT": "updated_at",
        "PRIORITY": "priority",
        "DUE_DATE": "due_date",
        "ESTIMATE": "estimate",
        "POSITION": "position",
    }
    keys = [(attributes[field], direction == "DESC") for field, direction in orders]
    keys.append(("id", keys[-1][1] if keys else True))

    def value(row: IssueRow, attribute: str) -> Any:
        found = getattr(row, attribute)
        return rank(found) if attribute == "priority" and found is not None else found

    def compare(a: IssueRow, b: IssueRow) -> int:
        for attribute, descending in keys:
            x, y = value(a, attribute), value(b, attribute)
            if x == y:
                continue
            if x is None or y is None:
                return 1 if x is None else -1  # nulls last, whichever the direction
            result = -1 if x < y else 1
            return -result if descending else result
        return 0

    return functools.cmp_to_key(compare)


ORDERINGS = [
    [],
    [("CREATED_AT", "ASC")],
    [("UPDATED_AT", "DESC")],
    [("PRIORITY", "ASC")],
    [("PRIORITY", "DESC")],
    [("DUE_DATE", "ASC")],
    [("DUE_DATE", "DESC")],
    [("ESTIMATE", "ASC")],
    [("ESTIMATE", "DESC")],
    [("POSITION", "ASC")],
    [("POSITION", "DESC")],
    [("PRIORITY", "ASC"), ("DUE_DATE", "ASC")],
    [("PRIORITY", "DESC"), ("UPDATED_AT", "ASC")],
    [("DUE_DATE", "DESC"), ("ESTIMATE", "ASC"), ("PRIORITY", "DESC")],
    [("ESTIMATE", "DESC"), ("DUE_DATE", "ASC"), ("POSITION", "ASC")],
    [("POSITION", "ASC"), ("PRIORITY", "DESC")],
]


def order_input(orders: list[tuple[str, str]]) -> list[dict[str, str]] | None:
    return [{"field": f, "direction": d} for f, d in orders] or None


@pytest.fixture
async def tied_rows(connection: Any) -> list[IssueRow]:
    """The seed, with ties on every key: positions and update times repeat, and so do the
    seed's priorities, estimates and (mostly null) due dates."""
    await connection.execute(
        text(
            "UPDATE issues SET position = id % 7, "
            "updated_at = timestamptz '2026-11-01 09:00+00' + (id % 11) * interval '1 hour'"
        )
    )
    return await snapshot(connection)


# What a walk asks for and reads, by direction: the page size's and the cursor's arguments, the
# flag that says more lies ahead and the one that says something lies behind, the next cursor.
FORWARD = ("first", "after", "hasNextPage", "hasPreviousPage", "endCursor")
BACKWARD = ("last", "before", "hasPreviousPage", "hasNextPage", "startCursor")


async def walk(gql: Any, size: int, *, backward: bool = False, **variables: Any) -> list[str]:
    """Every issue's identifier in order, read page by page from one end (the start, or the
    end `backward`); each page full but the last, each page's flags right."""
    count, cursor_argument, ahead, behind, next_cursor = BACKWARD if backward else FORWARD
    collected: list[str] = []
    cursor = None
    while True:
        body = await gql(ISSUES, {**variables, count: size, cursor_argument: cursor})
        assert "errors" not in body, body["errors"]
        issues = body["data"]["workspace"]["issues"]
        assert issues["pageInfo"][behind] is (cursor is not None)
        page = [node["identifier"] for node in issues["nodes"]]
        collected = page + collected if backward else collected + page
        if not issues["pageInfo"][ahead]:
            return collected
        assert len(issues["nodes"]) == size
        cursor = issues["pageInfo"][next_cursor]


@pytest.mark.parametrize(
    "orders", ORDERINGS, ids=["-".join(f"{f}_{d}" for f, d in o) or "default" for o in ORDERINGS]
)
async def test_every_ordering_pages_exactly_in_both_directions(gql, tied_rows, orders):
    expected = [r.identifier for r in sorted(filter(live, tied_rows), key=sort_key(orders))]

    forward = await walk(gql, 13, orderBy=order_input(orders))
    backward = await walk(gql, 17, backward=True, orderBy=order_input(orders))

    assert forward == expected
    assert backward == expected


@pytest.mark.parametrize(
    "orders",
    [[("DUE_DATE", "ASC")], [("ESTIMATE", "DESC"), ("PRIORITY", "ASC")]],
    ids=["due-date", "estimate-priority"],
)
async def test_a_filtered_ordering_pages_exactly(gql, tied_rows, me, orders):
    filter = {"or": [{"assignee": {"isMe": False}}, {"labels": {"some": {}}}]}
    expected = [
        r.identifier
        for r in sorted(tied_rows, key=sort_key(orders))
        if live(r) and (r.assignee_id != me or r.label_ids)
    ]

    forward = await walk(gql, 9, orderBy=order_input(orders), filter=filter)
    backward = await walk(gql, 9, backward=True, orderBy=order_input(orders), filter=filter)

    assert forward == expected == backward


async def test_after_and_before_together_across_nulls(gql, tied_rows):
    """A window from a dated issue to an undated one (due date, latest first, nulls last)."""
    orders = [("DUE_DATE", "DESC")]
    ordered = sorted(filter(live, tied_rows), key=sort_key(orders))
    first_null = next(i for i, row in enumerate(ordered) if row.due_date is None)
    cursors = []
    for index in (first_null - 3, first_null + 2):
        window = await gql(ISSUES, {"orderBy": order_input(orders), "first": index + 1})
        cursors.append(window["data"]["workspace"]["issues"]["pageInfo"]["endCursor"])

    between = await gql(
        ISSUES,
        {"orderBy": order_input(orders), "first": 50, "after": cursors[0], "before": cursors[1]},
    )

    nodes = between["data"]["workspace"]["issues"]["nodes"]
    expected = ordered[first_null - 2 : first_null + 2]
    assert [n["identifier"] for n in nodes] == [row.identifier for row in expected]


async def test_nested_lists_filter_and_order_per_parent(gql, tied_rows, me):
    orders = [("DUE_DATE", "ASC"), ("PRIORITY", "ASC")]
    body = await gql(
        """query ($filter: IssueFilter, $orderBy: [IssueOrder!]) { workspace(slug: "acme") {
            projects { nodes { id issues(first: 4, filter: $filter, orderBy: $orderBy) {
              totalCount nodes { identifier } } } } } }""",
        {
            "filter": {"priority": {"neq": "NONE"}, "labels": {"none": {"name": {"eq": "Bug"}}}},
            "orderBy": order_input(orders),
        },
    )

    assert "errors" not in body, body["errors"]
    by_project: dict[str, list[IssueRow]] = {}
    for row in sorted(tied_rows, key=sort_key(orders)):
        if live(row) and row.priority != "NONE" and "Bug" not in row.label_names:
            by_project.setdefault(to_global_id("Project", row.project_id), []).append(row)
    projects = body["data"]["workspace"]["projects"]["nodes"]
    assert len(projects) == 3
    for project in projects:
        expected = by_project[project["id"]]
        assert project["issues"]["totalCount"] == len(expected)
        assert [n["identifier"] for n in project["issues"]["nodes"]] == [
            r.identifier for r in expected[:4]
        ]


async def test_nested_lists_share_a_cursor_across_nulls(gql, tied_rows):
    """A cursor on a null due date, applied to every project's list at once (one statement
    pages them all): each gets the rows after that position in its own order."""
    orders = [("DUE_DATE", "ASC")]
    ordered = sorted(filter(live, tied_rows), key=sort_key(orders))
    index = next(i for i, r in enumerate(ordered) if r.due_date is None) + 5
    window = await gql(ISSUES, {"orderBy": order_input(orders), "first": index + 1})
    cursor = window["data"]["workspace"]["issues"]["pageInfo"]["endCursor"]
    anchor = sort_key(orders)(ordered[index])

    body = await gql(
        """query ($orderBy: [IssueOrder!], $after: String) { workspace(slug: "acme") {
            projects { nodes { id issues(first: 6, orderBy: $orderBy, after: $after) {
              nodes { identifier } } } } } }""",
        {"orderBy": order_input(orders), "after": cursor},
    )

    assert "errors" not in body, body["errors"]
    for project in body["data"]["workspace"]["projects"]["nodes"]:
        expected = [
            r.identifier
            for r in ordered
            if to_global_id("Project", r.project_id) == project["id"]
            and sort_key(orders)(r) > anchor
        ][:6]
        assert [n["identifier"] for n in project["issues"]["nodes"]] == expected
