"""Counts read from `issue_counts`: the counters stay equal to the issues they count through
every kind of write, and `totalCount` (lists, board columns) is read from them for the filters
they decide and from the issues for the others — equal to an independent `count(*)` either way.
Races and rollbacks on real commits: tests/concurrency/test_issue_counts.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.actors import MEMBER, OWNER
from tests.support.factories import ACME, ACME_PK, GLOBEX_PK
from tests.support.graphql import GraphQL
from tests.support.ids import ids, to_global_id
from tests.support.issue_counts import COUNTERS, DRIFT, as_dict
from tests.support.issue_rows import user_pk

TOTAL = """query ($filter: IssueFilter) { workspace(slug: "acme") {
    issues(filter: $filter, first: 1) { totalCount } } }"""


@dataclass(frozen=True)
class Acme:
    """Keys of the demo's first workspace."""

    states: dict[str, int]  # by name
    projects: dict[str, int]  # by key
    me: int
    member: int


@pytest.fixture
async def acme(connection: Any) -> Acme:
    states = await connection.execute(
        text("SELECT name, id FROM workflow_states WHERE workspace_id = :w"), {"w": ACME_PK}
    )
    projects = await connection.execute(
        text("SELECT key, id FROM projects WHERE workspace_id = :w"), {"w": ACME_PK}
    )
    # A few archived issues, so that what lists leave out is there to be left out.
    await connection.execute(
        text(
            "UPDATE issues SET archived_at = now() WHERE id IN "
            "(SELECT id FROM issues WHERE workspace_id = :w ORDER BY id DESC LIMIT 9)"
        ),
        {"w": ACME_PK},
    )
    return Acme(
        states=dict(states.all()),
        projects=dict(projects.all()),
        me=await user_pk(connection, OWNER),
        member=await user_pk(connection, MEMBER),
    )


async def drift(connection: Any) -> list[Any]:
    return list((await connection.execute(text(DRIFT))).all())


async def counters(connection: Any) -> dict[tuple[Any, ...], int]:
    return as_dict((await connection.execute(text(COUNTERS))).all())


async def _ok(gql: GraphQL, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await gql(document, variables)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert not payload.get("errors"), payload
    result: dict[str, Any] = payload
    return result


CREATE = """mutation ($input: IssueCreateInput!) { issueCreate(input: $input) {
    issue { id } errors { code } } }"""
UPDATE = """mutation ($input: IssueUpdateInput!) { issueUpdate(input: $input) {
    issue { id } errors { code } } }"""
BATCH = """mutation ($input: IssueBatchUpdateInput!) { issueBatchUpdate(input: $input) {
    issues { id } errors { code } } }"""
ARCHIVE = (
    """mutation ($id: ID!) { issueArchive(input: {id: $id}) { issue { id } errors { code } } }"""
)
UNARCHIVE = ARCHIVE.replace("issueArchive", "issueUnarchive")
DELETE = (
    """mutation ($id: ID!) { issueDelete(input: {id: $id}) { deletedIssueId errors { code } } }"""
)
STATE_DELETE = """mutation ($input: WorkflowStateDeleteInput!) { workflowStateDelete(input: $input)
    { deletedWorkflowStateId errors { code } } }"""
WORKSPACE_DELETE = """mutation ($id: ID!) { workspaceDelete(input: {id: $id}) {
    deletedWorkspaceId errors { code } } }"""


async def test_every_kind_of_write_keeps_the_counters_equal_to_the_issues(gql, connection, acme):
    assert await drift(connection) == []
    states, projects = acme.states, acme.projects

    async def live_issue(condition: str) -> str:
        found = await ids(
            connection,
            f"SELECT id FROM issues WHERE workspace_id = :w AND archived_at IS NULL "
            f"AND {condition} ORDER BY id LIMIT 1",
            w=ACME_PK,
        )
        return to_global_id("Issue", found[0])

    first = await live_issue(
        f"state_id <> {states['Done']} AND assignee_id IS DISTINCT FROM {acme.me}"
    )
    second = await live_issue(f"project_id <> {max(projects.values())}")
    third = await live_issue("true")
    batch = await ids(
        connection,
        "SELECT id FROM issues WHERE workspace_id = :w AND archived_at IS NULL ORDER BY id "
        "LIMIT 20 OFFSET 5",
        w=ACME_PK,
    )
    created: list[str] = []

    async def create() -> None:
        issue = await _ok(
            gql,
            CREATE,
            {
                "input": {
                    "projectId": to_global_id("Project", min(projects.values())),
                    "title": "Counted",
                    "stateId": to_global_id("WorkflowState", states["In Review"]),
                    "assigneeId": to_global_id("User", acme.member),
                }
            },
        )
        created.append(issue["issue"]["id"])

    async def update(issue: str, **changes: Any) -> None:
        await _ok(gql, UPDATE, {"input": {"id": issue, **changes}})

    # (what, the write, whether it moves an issue between counters)
    steps = [
        ("create", create, True),
        ("retitle", lambda: update(first, title="Moves nothing"), False),
        (
            "state",
            lambda: update(first, stateId=to_global_id("WorkflowState", states["Done"])),
            True,
        ),
        ("assignee", lambda: update(first, assigneeId=to_global_id("User", acme.me)), True),
        ("unassign", lambda: update(first, assigneeId=None), True),
        (
            "project",
            lambda: update(second, projectId=to_global_id("Project", max(projects.values()))),
            True,
        ),
        ("archive", lambda: _ok(gql, ARCHIVE, {"id": third}), True),
        ("unarchive", lambda: _ok(gql, UNARCHIVE, {"id": third}), True),
        (
            "batch",
            lambda: _ok(
                gql,
                BATCH,
                {
                    "input": {
                        "ids": [to_global_id("Issue", key) for key in batch],
                        "changes": {
                            "stateId": to_global_id("WorkflowState", states["Canceled"]),
                            "assigneeId": to_global_id("User", acme.member),
                        },
                    }
                },
            ),
            True,
        ),
        ("delete", lambda: _ok(gql, DELETE, {"id": created[0]}), True),
        (
            "state deleted, its issues moved",
            lambda: _ok(
                gql,
                STATE_DELETE,
                {
                    "input": {
                        "id": to_global_id("WorkflowState", states["In Progress"]),
                        "moveIssuesToId": to_global_id("WorkflowState", states["Backlog"]),
                    }
                },
            ),
            True,
        ),
        (
            "project deleted (cascade)",
            lambda: connection.execute(
                text("DELETE FROM projects WHERE id = :p"), {"p": min(projects.values())}
            ),
            True,
        ),
        (
            "assignee's account deleted (SET NULL)",
            lambda: connection.execute(text("DELETE FROM users WHERE id = :u"), {"u": acme.member}),
            True,
        ),
        ("workspace deleted", lambda: _ok(gql, WORKSPACE_DELETE, {"id": ACME}), True),
    ]
    for what, write, moves in steps:
        before = await counters(connection)

        await write()

        assert await drift(connection) == [], what
        assert (await counters(connection) != before) == moves, what
    assert not any(key[0] == ACME_PK for key in await counters(connection))


async def test_truncating_the_issues_empties_the_counters(connection):
    assert await counters(connection)

    await connection.execute(text("TRUNCATE issues CASCADE"))

    assert await counters(connection) == {}
    await connection.execute(
        text(
            "INSERT INTO issues (workspace_id, project_id, number, title, state_id) "
            "SELECT workspace_id, id, 1, 'After', "
            "(SELECT min(id) FROM workflow_states s WHERE s.workspace_id = p.workspace_id) "
            "FROM projects p"
        )
    )
    assert await drift(connection) == []


# Each case: the filter, the same condition in SQL over `issues i`, and whether archived issues
# count (they do where the filter names them).
Case = tuple[dict[str, Any], str, bool]
_STATES_WHERE = "i.state_id IN (SELECT id FROM workflow_states WHERE {})"


def _state(a: Acme) -> int:
    return a.states["In Progress"]


def _project(a: Acme) -> int:
    return max(a.projects.values())


DECIDED: dict[str, Callable[[Acme], Case]] = {
    "none": lambda a: ({}, "true", False),
    "state": lambda a: (
        {"state": {"id": {"eq": to_global_id("WorkflowState", _state(a))}}},
        f"state_id = {_state(a)}",
        False,
    ),
    "state type": lambda a: (
        {"state": {"type": {"in": ["STARTED", "UNSTARTED"]}}},
        _STATES_WHERE.format("type IN ('STARTED', 'UNSTARTED')"),
        False,
    ),
    "state name": lambda a: (
        {"state": {"name": {"containsIgnoreCase": "in "}}},
        _STATES_WHERE.format("name ILIKE '%in %'"),
        False,
    ),
    "project nin": lambda a: (
        {"project": {"id": {"nin": [to_global_id("Project", _project(a))]}}},
        f"project_id <> {_project(a)}",
        False,
    ),
    "assignee is me": lambda a: ({"assignee": {"isMe": True}}, f"assignee_id = {a.me}", False),
    "assignee neq keeps unassigned": lambda a: (
        {"assignee": {"id": {"neq": to_global_id("User", a.me)}}},
        f"assignee_id IS DISTINCT FROM {a.me}",
        False,
    ),
    "unassigned": lambda a: ({"assignee": {"null": True}}, "assignee_id IS NULL", False),
    "assigned": lambda a: ({"assignee": {"null": False}}, "assignee_id IS NOT NULL", False),
    "assignee of another type": lambda a: (
        {"assignee": {"id": {"eq": to_global_id("Label", a.me)}}},
        "false",
        False,
    ),
    "state, project and assignee": lambda a: (
        {
            "state": {
                "id": {"in": [to_global_id("WorkflowState", a.states[n]) for n in ("Todo", "Done")]}
            },
            "project": {"id": {"eq": to_global_id("Project", _project(a))}},
            "assignee": {
                "id": {"in": [to_global_id("User", a.me), to_global_id("User", a.member)]}
            },
        },
        f"state_id IN ({a.states['Todo']}, {a.states['Done']}) AND project_id = {_project(a)} "
        f"AND assignee_id IN ({a.me}, {a.member})",
        False,
    ),
    "mine or unassigned, not done": lambda a: (
        {
            "or": [{"assignee": {"isMe": True}}, {"assignee": {"null": True}}],
            "not": {"state": {"type": {"eq": "COMPLETED"}}},
        },
        f"(assignee_id = {a.me} OR assignee_id IS NULL) AND NOT "
        + _STATES_WHERE.format("type = 'COMPLETED'"),
        False,
    ),
    "archived included": lambda a: ({"includeArchived": True}, "true", True),
    "archived only": lambda a: ({"archivedAt": {"null": False}}, "archived_at IS NOT NULL", True),
    "archived or not, of a state": lambda a: (
        {
            "includeArchived": True,
            "state": {"id": {"eq": to_global_id("WorkflowState", _state(a))}},
        },
        f"state_id = {_state(a)}",
        True,
    ),
}
"""Filters of the state, the project, the assignee and archived-or-not: read from the counters."""

COUNTED: dict[str, Callable[[Acme], Case]] = {
    "priority": lambda a: (
        {"priority": {"in": ["URGENT", "HIGH"]}},
        "priority IN ('URGENT', 'HIGH')",
        False,
    ),
    "labels": lambda a: (
        {"labels": {"some": {"name": {"eq": "Bug"}}}},
        "EXISTS (SELECT 1 FROM issue_labels il JOIN labels l ON l.id = il.label_id "
        "WHERE il.issue_id = i.id AND l.name = 'Bug')",
        False,
    ),
    "title": lambda a: ({"title": {"containsIgnoreCase": "sync"}}, "title ILIKE '%sync%'", False),
    "due date": lambda a: ({"dueDate": {"null": True}}, "due_date IS NULL", False),
    "parent": lambda a: ({"parent": {"null": True}}, "parent_id IS NULL", False),
    "creator": lambda a: ({"creator": {"isMe": True}}, f"creator_id = {a.me}", False),
    "archived since": lambda a: (
        {"archivedAt": {"gt": "2000-01-01T00:00:00Z"}},
        "archived_at > '2000-01-01'",
        True,
    ),
    "assignee or priority": lambda a: (
        {"or": [{"assignee": {"isMe": True}}, {"priority": {"eq": "URGENT"}}]},
        f"(assignee_id = {a.me} OR priority = 'URGENT')",
        False,
    ),
}
"""Filters reading anything else: counted from the issues, as before the counters."""


async def exact_count(connection: Any, condition: str, archived: bool, workspace: int) -> int:
    live = "true" if archived else "i.archived_at IS NULL"
    found = await connection.scalar(
        text(
            f"SELECT count(*) FROM issues i WHERE workspace_id = {workspace} AND {live} "
            f"AND ({condition})"
        )
    )
    return int(found)


def reads_counters(statements: list[str]) -> bool:
    """Whether the count was read from the counters (and no issue counted); False when the
    issues were counted and no counter read. Anything else fails."""
    from_counters = [s for s in statements if "FROM issue_counts" in s]
    counted = [s for s in statements if "count(*)" in s]
    assert len(from_counters) + len(counted) == 1, statements
    return bool(from_counters)


@pytest.mark.parametrize(
    ("case", "from_counters"),
    [(case, True) for case in DECIDED] + [(case, False) for case in COUNTED],
)
async def test_every_filter_is_counted_exactly_from_the_counters_where_they_decide_it(
    gql, connection, statements, acme, case, from_counters
):
    filter, condition, archived = (DECIDED if from_counters else COUNTED)[case](acme)
    statements.statements.clear()

    body = await gql(TOTAL, {"filter": filter})

    assert "errors" not in body, body
    assert reads_counters(statements.statements) is from_counters
    total = body["data"]["workspace"]["issues"]["totalCount"]
    assert total == await exact_count(connection, condition, archived, ACME_PK)


BOARD = """query ($by: IssueGrouping!, $filter: IssueFilter) { workspace(slug: "acme") {
    issueGroups(by: $by, filter: $filter, first: 1) {
      state { id } project { id } totalCount issues { totalCount } } } }"""


@pytest.mark.parametrize(
    ("by", "filter", "condition", "from_counters"),
    [
        ("STATE", None, "true", True),
        ("STATE", {"assignee": {"null": True}}, "i.assignee_id IS NULL", True),
        (
            "PROJECT",
            {"state": {"type": {"nin": ["COMPLETED", "CANCELED"]}}},
            "s.type NOT IN ('COMPLETED', 'CANCELED')",
            True,
        ),
        ("STATE", {"priority": {"eq": "HIGH"}}, "i.priority = 'HIGH'", False),
    ],
)
async def test_board_columns_are_counted_exactly(
    gql, connection, statements, acme, by, filter, condition, from_counters
):
    column = "state_id" if by == "STATE" else "project_id"
    expected = {
        row[0]: row[1]
        for row in await connection.execute(
            text(
                f"SELECT i.{column}, count(*) FROM issues i JOIN workflow_states s "
                f"ON s.id = i.state_id WHERE i.workspace_id = {ACME_PK} "
                f"AND i.archived_at IS NULL AND {condition} GROUP BY 1"
            )
        )
    }
    statements.statements.clear()

    body = await gql(BOARD, {"by": by, "filter": filter})

    assert "errors" not in body, body
    assert reads_counters(statements.statements) == from_counters
    groups = body["data"]["workspace"]["issueGroups"]
    found = {}
    for group in groups:
        key = group["state" if by == "STATE" else "project"]["id"]
        found[key] = group["totalCount"]
        assert group["issues"]["totalCount"] == group["totalCount"]
    type_name = "WorkflowState" if by == "STATE" else "Project"
    assert found == {
        to_global_id(type_name, pk): expected.get(pk, 0)
        for pk in (acme.states if by == "STATE" else acme.projects).values()
    }
    assert sum(found.values()) > 0


async def test_a_users_assigned_issues_count_only_the_viewers_workspaces(
    gql_as, connection, statements, acme
):
    query = """query ($id: ID!) { node(id: $id) { ... on User {
        assignedIssues(first: 1) { totalCount } } } }"""
    in_acme, in_globex = [
        await exact_count(connection, f"assignee_id = {acme.me}", False, workspace)
        for workspace in (ACME_PK, GLOBEX_PK)
    ]
    assert in_acme > 0 and in_globex > 0  # the owner works in both

    statements.statements.clear()
    seen_by_member = await gql_as(MEMBER)(query, {"id": to_global_id("User", acme.me)})
    assert reads_counters(statements.statements)
    seen_by_owner = await gql_as(OWNER)(query, {"id": to_global_id("User", acme.me)})

    # The member shares acme with the owner, not globex: globex's issues are not counted.
    assert seen_by_member["data"]["node"]["assignedIssues"]["totalCount"] == in_acme
    assert seen_by_owner["data"]["node"]["assignedIssues"]["totalCount"] == in_acme + in_globex


async def test_a_projects_issues_are_counted_from_the_counters(gql, connection, statements, acme):
    project = max(acme.projects.values())
    query = """query ($id: ID!) { node(id: $id) { ... on Project {
        issues(first: 1, filter: {assignee: {null: false}}) { totalCount } } } }"""
    statements.statements.clear()

    body = await gql(query, {"id": to_global_id("Project", project)})

    assert reads_counters(statements.statements)
    assert body["data"]["node"]["issues"]["totalCount"] == await exact_count(
        connection, f"project_id = {project} AND assignee_id IS NOT NULL", False, ACME_PK
    )
