"""Issue filters (comparators, relations, and/or/not), archived issues, and what a filter costs
(statements, shared statement shapes, limits). Orderings: `test_orderings.py`.

Every expectation is computed in Python from a snapshot of the seeded rows read with plain SQL,
so the API's SQL is checked against an independent reading of the same data.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, text

from db import queries
from schema.issue_filters import (
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_VALUES,
    IssueFilter,
    NullableUserFilter,
    filter_spec,
)
from tests.support.factories import ACME_PK
from tests.support.graphql import assert_bad_input
from tests.support.ids import to_global_id
from tests.support.issue_rows import (
    ISSUES,
    IssueRow,
    everything,
    iso,
    live,
    rank,
    snapshot,
)

# Each case: name -> (rows, viewer id) -> (filter, predicate over a row). Archived rows are left
# out of the expectation unless the case says otherwise (see test_archived_*).
Case = Callable[[list[IssueRow], int], tuple[dict[str, Any], Callable[[IssueRow], bool]]]


def _some(rows: list[IssueRow], attribute: str) -> Any:
    """A value of `attribute` that some but not all rows hold (the middle one, sorted)."""
    values = sorted(
        {getattr(row, attribute) for row in rows if getattr(row, attribute) is not None}
    )
    return values[len(values) // 2]


def _first_with_labels(rows: list[IssueRow]) -> IssueRow:
    return next(row for row in sorted(rows, key=lambda r: r.id) if len(row.label_ids) >= 2)


CASES: dict[str, Case] = {
    # IDs
    "id eq": lambda rows, me: (
        {"id": {"eq": to_global_id("Issue", rows[3].id)}},
        lambda r: r.id == rows[3].id,
    ),
    "id in": lambda rows, me: (
        {"id": {"in": [to_global_id("Issue", rows[3].id), to_global_id("Issue", rows[7].id)]}},
        lambda r: r.id in {rows[3].id, rows[7].id},
    ),
    "id neq": lambda rows, me: (
        {"id": {"neq": to_global_id("Issue", rows[3].id)}},
        lambda r: r.id != rows[3].id,
    ),
    "id nin": lambda rows, me: (
        {"id": {"nin": [to_global_id("Issue", rows[3].id), to_global_id("Issue", rows[7].id)]}},
        lambda r: r.id not in {rows[3].id, rows[7].id},
    ),
    "id in, empty": lambda rows, me: ({"id": {"in": []}}, lambda r: False),
    "id of another type": lambda rows, me: (
        {"id": {"eq": to_global_id("Label", rows[3].id)}},
        lambda r: False,
    ),
    # numbers
    "number eq": lambda rows, me: ({"number": {"eq": 7}}, lambda r: r.number == 7),
    "number in": lambda rows, me: ({"number": {"in": [1, 2, 3]}}, lambda r: r.number in (1, 2, 3)),
    "number nin": lambda rows, me: ({"number": {"nin": [1, 2]}}, lambda r: r.number not in (1, 2)),
    "number range": lambda rows, me: (
        {"number": {"gt": 10, "lte": 20}},
        lambda r: 10 < r.number <= 20,
    ),
    "number lt gte": lambda rows, me: (
        {"number": {"lt": 30, "gte": 25}},
        lambda r: 25 <= r.number < 30,
    ),
    "estimate eq": lambda rows, me: ({"estimate": {"eq": 3}}, lambda r: r.estimate == 3),
    "estimate neq keeps unestimated": lambda rows, me: (
        {"estimate": {"neq": 3}},
        lambda r: r.estimate != 3,
    ),
    "estimate in": lambda rows, me: (
        {"estimate": {"in": [1, 8]}},
        lambda r: r.estimate in (1, 8),
    ),
    "estimate nin keeps unestimated": lambda rows, me: (
        {"estimate": {"nin": [1, 8]}},
        lambda r: r.estimate not in (1, 8),
    ),
    "estimate lt": lambda rows, me: (
        {"estimate": {"lt": 3}},
        lambda r: r.estimate is not None and r.estimate < 3,
    ),
    "estimate gt": lambda rows, me: (
        {"estimate": {"gt": 3}},
        lambda r: r.estimate is not None and r.estimate > 3,
    ),
    "estimate lte gte": lambda rows, me: (
        {"estimate": {"lte": 5, "gte": 2}},
        lambda r: r.estimate is not None and 2 <= r.estimate <= 5,
    ),
    "estimate null": lambda rows, me: ({"estimate": {"null": True}}, lambda r: r.estimate is None),
    "estimate not null": lambda rows, me: (
        {"estimate": {"null": False}},
        lambda r: r.estimate is not None,
    ),
    # texts
    "title eq": lambda rows, me: (
        {"title": {"eq": rows[5].title}},
        lambda r: r.title == rows[5].title,
    ),
    "title neq": lambda rows, me: (
        {"title": {"neq": rows[5].title}},
        lambda r: r.title != rows[5].title,
    ),
    "title in": lambda rows, me: (
        {"title": {"in": [rows[5].title, rows[9].title]}},
        lambda r: r.title in (rows[5].title, rows[9].title),
    ),
    "title nin": lambda rows, me: (
        {"title": {"nin": [rows[5].title]}},
        lambda r: r.title != rows[5].title,
    ),
    "title eqIgnoreCase": lambda rows, me: (
        {"title": {"eqIgnoreCase": rows[5].title.upper()}},
        lambda r: r.title.lower() == rows[5].title.lower(),
    ),
    "title contains": lambda rows, me: (
        {"title": {"contains": "sync"}},
        lambda r: "sync" in r.title,
    ),
    "title contains is case-sensitive": lambda rows, me: (
        {"title": {"contains": "SYNC"}},
        lambda r: "SYNC" in r.title,
    ),
    "title containsIgnoreCase": lambda rows, me: (
        {"title": {"containsIgnoreCase": "SYNC"}},
        lambda r: "sync" in r.title.lower(),
    ),
    "title startsWith": lambda rows, me: (
        {"title": {"startsWith": rows[5].title.split()[0]}},
        lambda r: r.title.startswith(rows[5].title.split()[0]),
    ),
    "title wildcards are literal": lambda rows, me: (
        {"title": {"containsIgnoreCase": "%"}},
        lambda r: "%" in r.title,
    ),
    "title underscore is literal": lambda rows, me: (
        {"title": {"startsWith": "_"}},
        lambda r: r.title.startswith("_"),
    ),
    # priority: URGENT < HIGH < MEDIUM < LOW < NONE
    "priority eq": lambda rows, me: ({"priority": {"eq": "HIGH"}}, lambda r: r.priority == "HIGH"),
    "priority neq": lambda rows, me: (
        {"priority": {"neq": "NONE"}},
        lambda r: r.priority != "NONE",
    ),
    "priority in": lambda rows, me: (
        {"priority": {"in": ["URGENT", "LOW"]}},
        lambda r: r.priority in ("URGENT", "LOW"),
    ),
    "priority nin": lambda rows, me: (
        {"priority": {"nin": ["URGENT", "LOW"]}},
        lambda r: r.priority not in ("URGENT", "LOW"),
    ),
    "priority lt": lambda rows, me: (
        {"priority": {"lt": "MEDIUM"}},
        lambda r: rank(r.priority) < rank("MEDIUM"),
    ),
    "priority lte": lambda rows, me: (
        {"priority": {"lte": "HIGH"}},
        lambda r: r.priority in ("URGENT", "HIGH"),
    ),
    "priority gt": lambda rows, me: (
        {"priority": {"gt": "MEDIUM"}},
        lambda r: rank(r.priority) > rank("MEDIUM"),
    ),
    "priority gte": lambda rows, me: (
        {"priority": {"gte": "LOW"}},
        lambda r: r.priority in ("LOW", "NONE"),
    ),
    # dates and times
    "due date eq": lambda rows, me: (
        {"dueDate": {"eq": iso(_some(rows, "due_date"))}},
        lambda r: r.due_date == _some(rows, "due_date"),
    ),
    "due date neq keeps undated": lambda rows, me: (
        {"dueDate": {"neq": iso(_some(rows, "due_date"))}},
        lambda r: r.due_date != _some(rows, "due_date"),
    ),
    "due date lt": lambda rows, me: (
        {"dueDate": {"lt": "2026-11-15"}},
        lambda r: r.due_date is not None and r.due_date < date(2026, 11, 15),
    ),
    "due date range": lambda rows, me: (
        {"dueDate": {"gte": "2026-11-01", "lte": "2026-11-30"}},
        lambda r: r.due_date is not None and date(2026, 11, 1) <= r.due_date <= date(2026, 11, 30),
    ),
    "due date gt": lambda rows, me: (
        {"dueDate": {"gt": "2026-12-15"}},
        lambda r: r.due_date is not None and r.due_date > date(2026, 12, 15),
    ),
    "due date in": lambda rows, me: (
        {"dueDate": {"in": [iso(_some(rows, "due_date")), "2026-12-15"]}},
        lambda r: r.due_date in (_some(rows, "due_date"), date(2026, 12, 15)),
    ),
    "due date nin keeps undated": lambda rows, me: (
        {"dueDate": {"nin": [iso(_some(rows, "due_date"))]}},
        lambda r: r.due_date != _some(rows, "due_date"),
    ),
    "due date null": lambda rows, me: ({"dueDate": {"null": True}}, lambda r: r.due_date is None),
    "due date not null": lambda rows, me: (
        {"dueDate": {"null": False}},
        lambda r: r.due_date is not None,
    ),
    "created at range": lambda rows, me: (
        {
            "createdAt": {
                "gte": iso(_some(rows, "created_at")),
                "lt": iso(_some(rows, "created_at") + timedelta(days=1)),
            }
        },
        lambda r: (
            _some(rows, "created_at")
            <= r.created_at
            < _some(rows, "created_at") + timedelta(days=1)
        ),
    ),
    "created at eq": lambda rows, me: (
        {"createdAt": {"eq": iso(rows[4].created_at)}},
        lambda r: r.created_at == rows[4].created_at,
    ),
    "created at in, time zone offset": lambda rows, me: (
        {
            "createdAt": {
                "in": [rows[4].created_at.astimezone().isoformat(), iso(rows[9].created_at)]
            }
        },
        lambda r: r.created_at in (rows[4].created_at, rows[9].created_at),
    ),
    "created at nin": lambda rows, me: (
        {"createdAt": {"nin": [iso(rows[4].created_at)]}},
        lambda r: r.created_at != rows[4].created_at,
    ),
    "created at neq": lambda rows, me: (
        {"createdAt": {"neq": iso(rows[4].created_at)}},
        lambda r: r.created_at != rows[4].created_at,
    ),
    "created at gt": lambda rows, me: (
        {"createdAt": {"gt": iso(_some(rows, "created_at"))}},
        lambda r: r.created_at > _some(rows, "created_at"),
    ),
    "created at lte": lambda rows, me: (
        {"createdAt": {"lte": iso(_some(rows, "created_at"))}},
        lambda r: r.created_at <= _some(rows, "created_at"),
    ),
    "updated at lt": lambda rows, me: (
        {"updatedAt": {"lt": iso(_some(rows, "updated_at"))}},
        lambda r: r.updated_at < _some(rows, "updated_at"),
    ),
    "updated at gte, time zone offset": lambda rows, me: (
        {"updatedAt": {"gte": _some(rows, "updated_at").astimezone().isoformat()}},
        lambda r: r.updated_at >= _some(rows, "updated_at"),
    ),
    # workflow state
    "state id": lambda rows, me: (
        {"state": {"id": {"eq": to_global_id("WorkflowState", rows[0].state_id)}}},
        lambda r: r.state_id == rows[0].state_id,
    ),
    "state type in": lambda rows, me: (
        {"state": {"type": {"in": ["STARTED", "UNSTARTED"]}}},
        lambda r: r.state_type in ("STARTED", "UNSTARTED"),
    ),
    "state type neq": lambda rows, me: (
        {"state": {"type": {"neq": "COMPLETED"}}},
        lambda r: r.state_type != "COMPLETED",
    ),
    "state type nin": lambda rows, me: (
        {"state": {"type": {"nin": ["COMPLETED", "CANCELED"]}}},
        lambda r: r.state_type not in ("COMPLETED", "CANCELED"),
    ),
    "state name and type": lambda rows, me: (
        {"state": {"name": {"containsIgnoreCase": "in "}, "type": {"eq": "STARTED"}}},
        lambda r: "in " in r.state_name.lower() and r.state_type == "STARTED",
    ),
    # people
    "assignee id": lambda rows, me: (
        {"assignee": {"id": {"eq": to_global_id("User", _some(rows, "assignee_id"))}}},
        lambda r: r.assignee_id == _some(rows, "assignee_id"),
    ),
    "assignee id neq keeps unassigned": lambda rows, me: (
        {"assignee": {"id": {"neq": to_global_id("User", me)}}},
        lambda r: r.assignee_id != me,
    ),
    "assignee is me": lambda rows, me: (
        {"assignee": {"isMe": True}},
        lambda r: r.assignee_id == me,
    ),
    "assignee is not me": lambda rows, me: (
        {"assignee": {"isMe": False}},
        lambda r: r.assignee_id != me,
    ),
    "unassigned": lambda rows, me: ({"assignee": {"null": True}}, lambda r: r.assignee_id is None),
    "assigned": lambda rows, me: (
        {"assignee": {"null": False}},
        lambda r: r.assignee_id is not None,
    ),
    "mine or unassigned": lambda rows, me: (
        {"or": [{"assignee": {"isMe": True}}, {"assignee": {"null": True}}]},
        lambda r: r.assignee_id in (me, None),
    ),
    "creator is me": lambda rows, me: ({"creator": {"isMe": True}}, lambda r: r.creator_id == me),
    "creator in": lambda rows, me: (
        {
            "creator": {
                "id": {
                    "in": [
                        to_global_id("User", me),
                        to_global_id("User", _some(rows, "creator_id")),
                    ]
                }
            }
        },
        lambda r: r.creator_id in (me, _some(rows, "creator_id")),
    ),
    # project, parent
    "project": lambda rows, me: (
        {"project": {"id": {"eq": to_global_id("Project", rows[0].project_id)}}},
        lambda r: r.project_id == rows[0].project_id,
    ),
    "project nin": lambda rows, me: (
        {"project": {"id": {"nin": [to_global_id("Project", rows[0].project_id)]}}},
        lambda r: r.project_id != rows[0].project_id,
    ),
    "parent id": lambda rows, me: (
        {"parent": {"id": {"eq": to_global_id("Issue", _some(rows, "parent_id"))}}},
        lambda r: r.parent_id == _some(rows, "parent_id"),
    ),
    "top-level issues": lambda rows, me: (
        {"parent": {"null": True}},
        lambda r: r.parent_id is None,
    ),
    "sub-issues": lambda rows, me: ({"parent": {"null": False}}, lambda r: r.parent_id is not None),
    # labels
    "labels some id": lambda rows, me: (
        {
            "labels": {
                "some": {
                    "id": {
                        "in": [to_global_id("Label", i) for i in _first_with_labels(rows).label_ids]
                    }
                }
            }
        },
        lambda r: bool(r.label_ids & _first_with_labels(rows).label_ids),
    ),
    "labels some name": lambda rows, me: (
        {"labels": {"some": {"name": {"eq": "Bug"}}}},
        lambda r: "Bug" in r.label_names,
    ),
    "labels none name": lambda rows, me: (
        {"labels": {"none": {"name": {"in": ["Bug", "Docs"]}}}},
        lambda r: not r.label_names & {"Bug", "Docs"},
    ),
    "labels every name": lambda rows, me: (
        {"labels": {"every": {"name": {"in": ["Bug", "Feature", "Docs"]}}}},
        lambda r: r.label_names <= {"Bug", "Feature", "Docs"},
    ),
    "labelled": lambda rows, me: ({"labels": {"some": {}}}, lambda r: bool(r.label_ids)),
    "unlabelled": lambda rows, me: ({"labels": {"none": {}}}, lambda r: not r.label_ids),
    "labels some and none": lambda rows, me: (
        {"labels": {"some": {"name": {"eq": "Bug"}}, "none": {"name": {"eq": "Security"}}}},
        lambda r: "Bug" in r.label_names and "Security" not in r.label_names,
    ),
    "labels every, id and name": lambda rows, me: (
        {
            "labels": {
                "every": {
                    "id": {"nin": [to_global_id("Label", min(_first_with_labels(rows).label_ids))]},
                    "name": {"neq": "Bug"},
                }
            }
        },
        lambda r: (
            min(_first_with_labels(rows).label_ids) not in r.label_ids
            and "Bug" not in r.label_names
        ),
    ),
    # and / or / not
    "and": lambda rows, me: (
        {"and": [{"priority": {"lte": "MEDIUM"}}, {"estimate": {"null": False}}]},
        lambda r: rank(r.priority) <= rank("MEDIUM") and r.estimate is not None,
    ),
    "or": lambda rows, me: (
        {"or": [{"priority": {"eq": "URGENT"}}, {"dueDate": {"lt": "2026-11-10"}}]},
        lambda r: (
            r.priority == "URGENT" or (r.due_date is not None and r.due_date < date(2026, 11, 10))
        ),
    ),
    "not of a nullable comparison": lambda rows, me: (
        {"not": {"estimate": {"lt": 3}}},
        lambda r: not (r.estimate is not None and r.estimate < 3),
    ),
    "not of an or": lambda rows, me: (
        {
            "not": {
                "or": [{"labels": {"some": {"name": {"eq": "Bug"}}}}, {"assignee": {"null": True}}]
            }
        },
        lambda r: "Bug" not in r.label_names and r.assignee_id is not None,
    ),
    "fields and or together": lambda rows, me: (
        {
            "state": {"type": {"nin": ["COMPLETED", "CANCELED"]}},
            "or": [{"assignee": {"isMe": True}}, {"priority": {"eq": "URGENT"}}],
        },
        lambda r: (
            r.state_type not in ("COMPLETED", "CANCELED")
            and (r.assignee_id == me or r.priority == "URGENT")
        ),
    ),
    "nested four levels": lambda rows, me: (
        {
            "or": [
                {"and": [{"priority": {"eq": "HIGH"}}, {"not": {"dueDate": {"null": True}}}]},
                {"labels": {"every": {"name": {"eq": "Bug"}}, "some": {}}},
            ]
        },
        lambda r: (r.priority == "HIGH" and r.due_date is not None) or r.label_names == {"Bug"},
    ),
    "and, empty": lambda rows, me: ({"and": []}, lambda r: True),
    "or, empty": lambda rows, me: ({"or": []}, lambda r: False),
    "not, empty": lambda rows, me: ({"not": {}}, lambda r: False),
    "empty filter": lambda rows, me: ({}, lambda r: True),
    "empty comparator": lambda rows, me: ({"priority": {}}, lambda r: True),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_a_filter_lists_exactly_the_matching_issues(gql, rows, me, name):
    filter, predicate = CASES[name](sorted(rows, key=lambda r: r.id), me)
    expected = {row.identifier for row in rows if live(row) and predicate(row)}

    total, identifiers = await everything(gql, filter)

    assert sorted(identifiers) == sorted(expected)
    assert total == len(expected)


@pytest.mark.parametrize(
    "name",
    ["estimate neq keeps unestimated", "due date neq keeps undated", "labels some name", "or"],
)
async def test_not_is_the_exact_complement(gql, rows, me, name):
    filter, _ = CASES[name](sorted(rows, key=lambda r: r.id), me)

    total, matching = await everything(gql, filter)
    negated_total, others = await everything(gql, {"not": filter})

    assert not set(matching) & set(others)
    assert total + negated_total == sum(1 for row in rows if live(row))


async def test_the_cases_are_meaningful(rows, me):
    """Guards the corpus: each case whose filter is not trivially empty selects some rows but
    not all, so a filter that ignored its condition would fail it."""
    ordered = sorted(rows, key=lambda r: r.id)
    trivial = {"id in, empty", "id of another type", "or, empty", "not, empty", "and, empty"}
    trivial |= {"empty filter", "empty comparator", "title contains is case-sensitive"}
    trivial |= {"title wildcards are literal", "title underscore is literal"}
    for name, case in CASES.items():
        if name in trivial:
            continue
        _, predicate = case(ordered, me)
        matched = sum(1 for row in rows if live(row) and predicate(row))
        assert 0 < matched < len(rows), name


async def test_like_wildcards_in_a_value_are_taken_literally(gql, connection):
    await connection.execute(
        text("UPDATE issues SET title = '100% done_now' WHERE id = (SELECT min(id) FROM issues)")
    )

    percent = await everything(gql, {"title": {"contains": "0% d"}})
    underscore = await everything(gql, {"title": {"containsIgnoreCase": "E_N"}})
    not_a_wildcard = await everything(gql, {"title": {"startsWith": "1_0"}})

    assert percent[0] == 1
    assert underscore[0] == 1
    assert not_a_wildcard[0] == 0


# Archived issues.


async def archive(connection: Any, how_many: int) -> list[int]:
    ids = (
        await connection.execute(
            text(
                "UPDATE issues SET archived_at = now() - (id || ' minutes')::interval "
                f"WHERE id IN (SELECT id FROM issues WHERE workspace_id = {ACME_PK} "
                "ORDER BY id LIMIT :n) "
                "RETURNING id"
            ),
            {"n": how_many},
        )
    ).scalars()
    return sorted(ids)


async def test_archived_issues_are_left_out_unless_asked(gql, connection):
    archived = await archive(connection, 5)
    rows = await snapshot(connection)
    archived_identifiers = {row.identifier for row in rows if row.id in archived}

    default_total, default = await everything(gql, None)
    included_total, included = await everything(gql, {"includeArchived": True})
    only_total, only = await everything(gql, {"archivedAt": {"null": False}})
    live_total, _ = await everything(gql, {"archivedAt": {"null": True}})

    assert default_total == len(rows) - 5
    assert not set(default) & archived_identifiers
    assert included_total == len(rows) and archived_identifiers <= set(included)
    assert set(only) == archived_identifiers and only_total == 5
    assert live_total == default_total


async def test_an_archived_at_range_asks_for_archived_issues(gql, connection):
    await archive(connection, 5)
    rows = await snapshot(connection)
    cutoff = sorted(row.archived_at for row in rows if row.archived_at is not None)[2]

    total, identifiers = await everything(gql, {"archivedAt": {"gte": cutoff.isoformat()}})

    expected = {r.identifier for r in rows if r.archived_at is not None and r.archived_at >= cutoff}
    assert set(identifiers) == expected and total == 3


async def test_archived_issues_hide_from_every_list_by_default(gql, connection):
    archived = await archive(connection, 150)
    assert len(archived) == 150

    body = await gql(
        """{ workspace(slug: "acme") { issues { totalCount }
              projects { nodes { issues { totalCount } } } } }"""
    )

    workspace = body["data"]["workspace"]
    assert workspace["issues"]["totalCount"] == 0
    assert all(p["issues"]["totalCount"] == 0 for p in workspace["projects"]["nodes"])


async def test_children_and_assigned_issues_take_filters(gql, connection, rows, me):
    parent_id = max(
        {r.parent_id for r in rows if r.parent_id},
        key=lambda p: sum(1 for r in rows if r.parent_id == p),
    )
    children = [r for r in rows if r.parent_id == parent_id and live(r)]
    body = await gql(
        """query ($parent: ID!, $me: ID!) {
            parent: node(id: $parent) { ... on Issue {
              children(filter: {priority: {neq: URGENT}}, orderBy: [{field: PRIORITY}]) {
                totalCount nodes { priority } } } }
            me: node(id: $me) { ... on User {
              assignedIssues(first: 100, filter: {labels: {none: {}}}) { totalCount } } } }""",
        {"parent": to_global_id("Issue", parent_id), "me": to_global_id("User", me)},
    )

    assert "errors" not in body, body["errors"]
    listed = body["data"]["parent"]["children"]
    assert listed["totalCount"] == sum(1 for r in children if r.priority != "URGENT")
    priorities = [n["priority"] for n in listed["nodes"]]
    assert priorities == sorted(priorities, key=rank)
    assigned = body["data"]["me"]["assignedIssues"]["totalCount"]
    # Assigned issues span both of the owner's workspaces.
    mine_unlabelled = await connection.scalar(
        text(
            "SELECT count(*) FROM issues i WHERE assignee_id = :me AND archived_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM issue_labels l WHERE l.issue_id = i.id)"
        ),
        {"me": me},
    )
    assert assigned == mine_unlabelled > 0


# Limits.


def nested(depth: int) -> dict[str, Any]:
    filter: dict[str, Any] = {"priority": {"eq": "HIGH"}}
    for level in range(depth - 1):
        filter = {"not": filter} if level % 2 else {"and": [filter]}
    return filter


async def test_nesting_up_to_the_limit_is_allowed(gql, rows):
    body = await gql(ISSUES, {"filter": nested(MAX_FILTER_DEPTH), "first": 1})

    assert "errors" not in body, body["errors"]
    # One condition (priority HIGH) under and/not levels: an odd number of `not`s inverts it.
    inverted = (MAX_FILTER_DEPTH - 1) // 2 % 2 == 1
    expected = sum(1 for row in rows if live(row) and (row.priority == "HIGH") != inverted)
    assert body["data"]["workspace"]["issues"]["totalCount"] == expected


@pytest.mark.parametrize(
    ("filter", "words"),
    [
        (nested(MAX_FILTER_DEPTH + 1), ["levels deep"]),
        (nested(40), ["levels deep"]),
        (
            {"or": [{"number": {"eq": n}} for n in range(MAX_FILTER_CONDITIONS)]},
            ["more than 50 conditions"],
        ),
        (
            {"number": {"in": list(range(MAX_FILTER_VALUES + 1))}},
            ["at most 100 values"],
        ),
        (
            {"id": {"in": [to_global_id("Issue", n) for n in range(1, MAX_FILTER_VALUES + 2)]}},
            ["at most 100 IDs"],
        ),
    ],
    ids=["too-deep", "far-too-deep", "too-many-conditions", "too-many-values", "too-many-ids"],
)
async def test_a_filter_past_a_limit_is_refused_before_it_runs(gql, filter, words):
    body = await gql(ISSUES, {"filter": filter, "first": 1})

    # Counted in the pre-flight: a request error, with no `data` (tests/platform/test_bad_input.py).
    assert "data" not in body
    assert_bad_input(body, *words, field=None)


@pytest.mark.parametrize(
    ("filter", "words"),
    [
        ({"project": {"id": {"eq": "not an id"}}}, ["is not an ID"]),
        ({"labels": {"some": {"id": {"in": ["WyJjcmVhdGVkX2F0LSJd"]}}}}, ["is not an ID"]),
        ({"and": [{"includeArchived": True}]}, ["outermost"]),
    ],
    ids=["malformed-id", "a-cursor-as-an-id", "nested-include-archived"],
)
async def test_a_malformed_filter_is_refused(gql, filter, words):
    body = await gql(ISSUES, {"filter": filter, "first": 1})

    assert_bad_input(body, *words)


@pytest.mark.parametrize(
    "cursor",
    ['["due_date+,id+",null,null]', '["position+,id+",1e999,1]', '["position+,id+","1",1]'],
    ids=["null-primary-key", "infinite-float", "float-as-text"],
)
async def test_a_forged_cursor_is_refused(gql, cursor):
    encoded = base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=")
    field = "DUE_DATE" if "due_date" in cursor else "POSITION"

    body = await gql(ISSUES, {"first": 2, "after": encoded, "orderBy": [{"field": field}]})

    assert_bad_input(body, "not a valid cursor")


async def test_an_anonymous_viewers_me_is_nobody(connection):
    spec = filter_spec(IssueFilter(assignee=NullableUserFilter(is_me=True)))
    negated = filter_spec(IssueFilter(not_=IssueFilter(assignee=NullableUserFilter(is_me=True))))
    params = {"scope_workspace_ids": [1], "scope_viewer_id": None}

    def counted(statement: Any) -> Any:
        return statement.with_only_columns(func.count(), maintain_column_froms=True)

    mine = await connection.scalar(
        counted(spec.apply(queries.countable_issues())), {**params, **spec.params()}
    )
    others = await connection.scalar(
        counted(negated.apply(queries.countable_issues())), {**params, **negated.params()}
    )
    live_total = await connection.scalar(
        text(f"SELECT count(*) FROM issues WHERE workspace_id = {ACME_PK} AND archived_at IS NULL")
    )

    assert mine == 0
    assert others == live_total


async def test_a_filter_nested_beyond_recursion_is_refused_cleanly(gql):
    body = await gql(ISSUES, {"filter": nested(450), "first": 1})

    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] in (
        "BAD_USER_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
    )
