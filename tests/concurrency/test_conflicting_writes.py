"""Writes that race on real connections and real commits: deletes against writes in flight,
lock orders, and the lock a workspace takes. Each test was first a failing probe of a review; they
hold the contract now.

Most tests hold the race workspace's activity stream lock from a side connection: every mutation
of that workspace then pauses at its last statement with all its row locks held, which widens
windows that exist anyway, so that the interleaving under test happens every time. Each request
starts once the ones before it wait for a lock (`tests.support.races`)."""

from __future__ import annotations

import asyncio

from tests.support import races
from tests.support.actors import OWNER
from tests.support.factories import RACE_ISSUE_CREATE as CREATE
from tests.support.factories import RaceWorkspace, race_issue
from tests.support.graphql import data, request
from tests.support.ids import pk, to_global_id
from tests.support.races import (
    hold_rows,
    one_after_another,
    requests_behind_the_stream_lock,
    sql,
    sql_value,
    wait_until_blocked,
)

GQL_UPDATE = """mutation ($input: IssueUpdateInput!) { issueUpdate(input: $input) {
    issue { id version } errors { code field } } }"""
STATE_DELETE = """mutation ($i: WorkflowStateDeleteInput!) { workflowStateDelete(input: $i) {
    deletedWorkflowStateId errors { code field } } }"""
BATCH = """mutation ($i: IssueBatchUpdateInput!) { issueBatchUpdate(input: $i) {
    errors { code } } }"""


async def add_state(race: RaceWorkspace, name: str, position: int = 1) -> int:
    """A committed STARTED state in the race workspace; its primary key."""
    return await races.add_state(race.database, race.workspace, name, position)


async def state_named(race: RaceWorkspace, name: str) -> int:
    return await races.state_id(race.database, race.workspace, name)


async def test_a_state_delete_waits_for_an_issue_moving_into_it(race):
    doing = await add_state(race, "Doing")
    issue = await race_issue(race, "mover")
    moved, deleted = await requests_behind_the_stream_lock(
        race,
        (GQL_UPDATE, {"input": {"id": issue, "stateId": to_global_id("WorkflowState", doing)}}),
        (STATE_DELETE, {"i": {"id": to_global_id("WorkflowState", doing)}}),
    )
    # Once a ForeignKeyViolation (an internal error): the delete now sees the issue arrive.
    assert moved["data"]["issueUpdate"] == {"issue": {"id": issue, "version": 2}, "errors": []}
    assert deleted["data"]["workflowStateDelete"] == {
        "deletedWorkflowStateId": None,
        "errors": [{"code": "STATE_IN_USE", "field": ["moveIssuesToId"]}],
    }
    assert "errors" not in moved and "errors" not in deleted, (moved, deleted)
    state_of = await sql(race.database, "SELECT state_id FROM issues WHERE id = :i", i=pk(issue))
    assert [row[0] for row in state_of] == [doing]


async def test_two_concurrent_state_deletes_keep_one_state(race):
    second = await add_state(race, "Two")
    first = await state_named(race, "Todo")
    results = await requests_behind_the_stream_lock(
        race,
        (STATE_DELETE, {"i": {"id": to_global_id("WorkflowState", first)}}),
        (STATE_DELETE, {"i": {"id": to_global_id("WorkflowState", second)}}),
    )
    assert [r["data"]["workflowStateDelete"] for r in results] == [
        {"deletedWorkflowStateId": to_global_id("WorkflowState", first), "errors": []},
        {"deletedWorkflowStateId": None, "errors": [{"code": "LAST_STATE", "field": ["id"]}]},
    ]
    left = await sql_value(
        race.database,
        "SELECT count(*) FROM workflow_states WHERE workspace_id = :w",
        w=race.workspace,
    )
    assert left == 1, "both deletes succeeded; issueCreate is now a NotNullViolation 500"


async def test_no_issue_is_created_in_a_project_being_archived(race):
    archived, created = await requests_behind_the_stream_lock(
        race,
        (
            "mutation ($i: ProjectArchiveInput!) { projectArchive(input: $i) { errors { code } } }",
            {"i": {"id": race.project}},
        ),
        (CREATE, {"input": {"projectId": race.project, "title": "sneaks in"}}),
    )
    assert archived["data"]["projectArchive"] == {"errors": []}, archived
    assert created["data"]["issueCreate"] == {"issue": None, "errors": [{"code": "ARCHIVED"}]}
    n = await sql_value(
        race.database,
        "SELECT count(*) FROM issues i JOIN projects p ON p.id = i.project_id "
        "WHERE p.workspace_id = :w AND i.created_at > p.archived_at",
        w=race.workspace,
    )
    assert n == 0, "an issue was created in an archived project"
    in_project = await sql_value(
        race.database, "SELECT count(*) FROM issues WHERE project_id = :p", p=pk(race.project)
    )
    assert in_project == 0


async def test_a_comment_on_an_issue_being_deleted_is_not_found(race):
    issue = await race_issue(race, "doomed")
    deleted, commented = await requests_behind_the_stream_lock(
        race,
        (
            "mutation ($i: IssueDeleteInput!) { issueDelete(input: $i) { errors { code } } }",
            {"i": {"id": issue}},
        ),
        (
            "mutation ($i: CommentCreateInput!) { commentCreate(input: $i) { errors { code } } }",
            {"i": {"issueId": issue, "body": "hello"}},
        ),
    )
    assert deleted["data"]["issueDelete"] == {"errors": []}, deleted
    assert commented == {"data": {"commentCreate": {"errors": [{"code": "NOT_FOUND"}]}}}
    left = await sql_value(
        race.database,
        "SELECT (SELECT count(*) FROM issues WHERE id = :i) + "
        "(SELECT count(*) FROM comments WHERE issue_id = :i)",
        i=pk(issue),
    )
    assert left == 0


async def test_a_label_delete_sees_a_concurrent_add_of_it(race):
    label = await sql_value(
        race.database,
        "INSERT INTO labels (workspace_id, name, color, position) "
        "VALUES (:w, 'bug', '#aabbcc', 0) RETURNING id",
        w=race.workspace,
    )
    issue = await race_issue(race, "labelled")
    added, deleted = await requests_behind_the_stream_lock(
        race,
        (GQL_UPDATE, {"input": {"id": issue, "addLabelIds": [to_global_id("Label", label)]}}),
        (
            "mutation ($i: LabelDeleteInput!) { labelDelete(input: $i) { errors { code } } }",
            {"i": {"id": to_global_id("Label", label)}},
        ),
    )
    assert added["data"]["issueUpdate"]["errors"] == [], added
    assert deleted["data"]["labelDelete"] == {"errors": []}, deleted
    rows = await sql(
        race.database,
        "SELECT from_value, to_value FROM activity WHERE workspace_id = :w AND field = 'labels'",
        w=race.workspace,
    )
    # Added, then removed by the delete: the log must not say the label is still on the issue.
    assert sorted((tuple(r) for r in rows), key=str) == sorted(
        [(None, str(label)), (str(label), None)], key=str
    )
    on_issue = await sql_value(
        race.database, "SELECT count(*) FROM issue_labels WHERE label_id = :l", l=label
    )
    assert on_issue == 0


async def test_a_batch_move_and_a_parent_change_do_not_deadlock(race):
    q = await sql_value(
        race.database,
        "INSERT INTO projects (workspace_id, key, name) VALUES (:w, 'QQ', 'Q') RETURNING id",
        w=race.workspace,
    )
    x, a, b, d = [await race_issue(race, t) for t in ("x", "a", "b", "d")]
    await data(race.client, GQL_UPDATE, {"input": {"id": a, "parentId": x}})
    holder = await hold_rows(race.database, "SELECT id FROM projects WHERE id = :q FOR UPDATE", q=q)
    batch, single = await one_after_another(
        race.database,
        holder,
        request(
            race.client,
            BATCH,
            {
                "i": {
                    "ids": [a, b],
                    "changes": {"parentId": x, "projectId": to_global_id("Project", q)},
                }
            },
        ),
        request(
            race.client,
            GQL_UPDATE,
            {"input": {"id": d, "parentId": x, "projectId": to_global_id("Project", q)}},
        ),
    )
    assert "errors" not in batch and "errors" not in single, (batch, single)  # once a deadlock
    assert batch["data"]["issueBatchUpdate"] == {"errors": []}
    assert single["data"]["issueUpdate"]["errors"] == []
    moved = await sql(
        race.database,
        "SELECT project_id, parent_id FROM issues WHERE id = ANY(:ids) ORDER BY id",
        ids=[pk(a), pk(b), pk(d)],
    )
    assert [tuple(row) for row in moved] == [(q, pk(x))] * 3


async def test_a_state_delete_with_move_and_a_batch_do_not_deadlock(race):
    second = await add_state(race, "Two")
    first = await state_named(race, "Todo")
    a, b = await race_issue(race, "a"), await race_issue(race, "b")
    for _ in range(3):  # move a's tuple after b's, so the state's UPDATE meets b first
        await sql(race.database, "UPDATE issues SET title = title || '.' WHERE id = :i", i=pk(a))
    # Without id-ordered locking, the state's UPDATE would meet b first (heap order): held here.
    holder = await hold_rows(
        race.database, "SELECT id FROM issues WHERE id = :i FOR UPDATE", i=pk(b)
    )
    deleted, batch = await one_after_another(
        race.database,
        holder,
        request(
            race.client,
            STATE_DELETE,
            {
                "i": {
                    "id": to_global_id("WorkflowState", first),
                    "moveIssuesToId": to_global_id("WorkflowState", second),
                }
            },
        ),
        request(race.client, BATCH, {"i": {"ids": [a, b], "changes": {"priority": "HIGH"}}}),
    )
    assert "errors" not in deleted and "errors" not in batch, (deleted, batch)  # once a deadlock
    assert deleted["data"]["workflowStateDelete"] == {
        "deletedWorkflowStateId": to_global_id("WorkflowState", first),
        "errors": [],
    }
    assert batch["data"]["issueBatchUpdate"] == {"errors": []}
    final = await sql(
        race.database,
        "SELECT state_id, priority FROM issues WHERE id = ANY(:ids) ORDER BY id",
        ids=[pk(a), pk(b)],
    )
    assert [(row[0], str(row[1]).rsplit(".", 1)[-1]) for row in final] == [(second, "HIGH")] * 2


async def test_a_workspace_delete_and_an_issue_update_in_flight_do_not_deadlock(race):
    issue = await race_issue(race, "in-w1")
    updated, deleted = await requests_behind_the_stream_lock(
        race,
        (GQL_UPDATE, {"input": {"id": issue, "title": "edit"}}),
        (
            "mutation ($id: ID!) { workspaceDelete(input: {id: $id}) { "
            "deletedWorkspaceId errors { code } } }",
            {"id": to_global_id("Workspace", race.workspace)},
        ),
    )
    assert "errors" not in updated and "errors" not in deleted, (
        updated,
        deleted,
    )  # once a deadlock
    assert updated["data"]["issueUpdate"] == {
        "issue": {"id": issue, "version": 2},
        "errors": [],
    }
    assert deleted["data"]["workspaceDelete"] == {
        "deletedWorkspaceId": to_global_id("Workspace", race.workspace),
        "errors": [],
    }
    gone = await sql_value(
        race.database, "SELECT count(*) FROM workspaces WHERE id = :w", w=race.workspace
    )
    assert gone == 0


async def test_a_locked_workspace_does_not_stall_other_workspaces_writes(race):
    db = race.database
    w2 = await sql_value(
        db, "INSERT INTO workspaces (slug, name) VALUES ('race-test-two', 'R2') RETURNING id"
    )
    try:
        await sql(
            db,
            "INSERT INTO memberships (workspace_id, user_id, role) SELECT :w, id, 'OWNER' "
            "FROM users WHERE email = :e",
            w=w2,
            e=OWNER,
        )
        await sql(
            db,
            "INSERT INTO workflow_states (workspace_id, name, type, position) "
            "VALUES (:w, 'Todo', 'UNSTARTED', 0)",
            w=w2,
        )
        p2 = await sql_value(
            db,
            "INSERT INTO projects (workspace_id, key, name) VALUES (:w, 'TWO', 'Two') RETURNING id",
            w=w2,
        )
        i1 = await race_issue(race, "in-w1")
        i2 = await race_issue(race, "in-w2", to_global_id("Project", p2))
        # The lock workspaceDelete (or a slug change) holds until commit.
        holder = await hold_rows(
            db, "SELECT id FROM workspaces WHERE id = :w FOR UPDATE", w=race.workspace
        )
        try:
            t1 = asyncio.ensure_future(
                request(race.client, GQL_UPDATE, {"input": {"id": i1, "title": "w1 edit"}})
            )
            await wait_until_blocked(db, tasks=[t1])
            t2 = asyncio.ensure_future(
                request(race.client, GQL_UPDATE, {"input": {"id": i2, "title": "w2 edit"}})
            )
            done, _ = await asyncio.wait({t2}, timeout=1.5)
        finally:
            await holder.close()
        first, second = await asyncio.gather(t1, t2)
        assert done, (
            "a write in workspace 2 waited for workspace 1's row lock (stream lock held meanwhile)"
        )
        assert first["data"]["issueUpdate"] == {"issue": {"id": i1, "version": 2}, "errors": []}
        assert second["data"]["issueUpdate"] == {"issue": {"id": i2, "version": 2}, "errors": []}
    finally:
        await sql(db, "DELETE FROM workspaces WHERE id = :w", w=w2)
