"""Writes at the edges: text PostgreSQL cannot store, error paths, and races on real connections
and commits (deletes against writes in flight, lock orders). Each test was first a failing probe
of a review; they hold the contract now.

Most race tests hold the activity stream's advisory lock from a side connection: every mutation
then pauses at its last statement with all its row locks held, which widens windows that exist
anyway, so that the interleaving under test happens every time."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlalchemy import text

from core.ids import from_global_id, to_global_id
from db.activity import STREAM_LOCK
from resolvers.inputs import body_errors, name_errors, title_errors
from tests.conftest import OWNER, post
from tests.test_issue_mutations import CREATE as CREATE_FULL
from tests.test_issue_mutations import UPDATE, global_ids, ids, project_id
from tests.test_write_races import CREATE

GQL_UPDATE = """mutation ($input: IssueUpdateInput!) { issueUpdate(input: $input) {
    issue { id version } errors { code field } } }"""
STATE_DELETE = """mutation ($i: WorkflowStateDeleteInput!) { workflowStateDelete(input: $i) {
    deletedWorkflowStateId errors { code field } } }"""


async def raw(client, query, variables):
    return (await client.post("/graphql", json={"query": query, "variables": variables})).json()


async def sql(database, statement, **params):
    h = database.request_handle()
    try:
        rows = await h.fetch_all(text(statement).bindparams(**params))
        await h.commit()
        return rows
    finally:
        await h.close()


async def new_issue(race, title, project=None):
    d = await post(
        race["client"], CREATE, {"input": {"projectId": project or race["project"], "title": title}}
    )
    return d["issueCreate"]["issue"]["id"]


async def one_after_another(holder, *requests):
    """Start each request 0.3 s after the one before while `holder` keeps its lock, so every
    request is in flight; then release it and return their responses."""
    try:
        tasks = []
        for request in requests:
            tasks.append(asyncio.create_task(request))
            await asyncio.sleep(0.3)
    finally:
        await holder.close()
    return await asyncio.gather(*tasks)


async def hold_stream_lock(db):
    """Holds the activity stream's advisory lock: every mutation then pauses at its last statement
    (the append) with all its row locks held; this only widens windows that exist anyway."""
    h = db.request_handle()
    await h.fetch_all(text(f"SELECT pg_advisory_xact_lock({STREAM_LOCK})"))
    return h


# ---- 1. input handling -------------------------------------------------------------------

UNSTORABLE = ("a\u0000b", "a\ud800b", "\udfff")


@pytest.mark.parametrize("text_value", UNSTORABLE)
async def test_text_postgresql_cannot_store_is_refused_before_anything_runs(
    client, connection, text_value
):
    project = await project_id(connection)
    before = await ids(connection, "SELECT count(*) FROM issues")
    documents = [
        (CREATE_FULL, {"input": {"projectId": project, "title": text_value}}),
        (
            CREATE_FULL,
            {"input": {"projectId": project, "title": "t", "idempotencyKey": text_value}},
        ),
        (
            'query ($t: String!) { workspace(slug: "acme") { issues(filter: {title: {contains: $t}}) { totalCount } } }',
            {"t": text_value},
        ),
        (
            'query ($t: String!) { workspace(slug: "acme") { search(query: $t) { totalCount } } }',
            {"t": text_value},
        ),
    ]
    for document, variables in documents:
        # Escaped by the standard encoder, as any client would send it.
        raw_body = json.dumps({"query": document, "variables": variables})
        response = await client.post(
            "/graphql",
            content=raw_body,
            headers={
                "content-type": "application/json",
                "accept": "application/graphql-response+json",
            },
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "data" not in response.json()
    assert await ids(connection, "SELECT count(*) FROM issues") == before


async def test_escapes_that_are_text_pass(gql, connection):
    # A description quoting `\u0000` and an emoji sent as a surrogate pair are fine.
    body = await gql(
        CREATE_FULL,
        {"input": {"projectId": await project_id(connection), "title": "\\u0000 \U0001f600"}},
    )
    assert body["data"]["issueCreate"]["errors"] == [], body


def test_resolvers_check_text_too():
    # Callers other than HTTP (and defence in depth) get typed input errors.
    for value in ("a\x00b", "a\ud800b"):
        assert [e.code.value for e in title_errors(value, "title")] == ["INVALID_INPUT"]
        assert [e.code.value for e in body_errors(value, "body")] == ["INVALID_INPUT"]
        assert [e.code.value for e in name_errors(value, "name")] == ["INVALID_INPUT"]


async def test_label_errors_name_the_index_in_the_input(gql, connection):
    other_ws_label = (
        await global_ids(
            connection, "Label", "SELECT id FROM labels WHERE workspace_id = 2 ORDER BY id LIMIT 1"
        )
    )[0]
    state = (
        await global_ids(
            connection,
            "WorkflowState",
            "SELECT id FROM workflow_states WHERE workspace_id = 1 LIMIT 1",
        )
    )[0]
    issue = (
        await global_ids(
            connection, "Issue", "SELECT id FROM issues WHERE workspace_id = 1 ORDER BY id LIMIT 1"
        )
    )[0]
    body = await gql(UPDATE, {"input": {"id": issue, "labelIds": [state, other_ws_label]}})
    fields = sorted(e["field"][1] for e in body["data"]["issueUpdate"]["errors"])
    assert fields == ["0", "1"], fields  # observed ['0', '0']


async def test_a_time_without_offset_in_a_filter_is_utc(gql, connection):
    """Run with TZ=America/New_York (passes only when the server process runs in UTC)."""
    row = (
        await connection.execute(
            text("SELECT created_at FROM issues WHERE workspace_id = 1 ORDER BY id LIMIT 1")
        )
    ).one()
    naive = row[0].astimezone(dt.UTC).replace(tzinfo=None).isoformat()
    n = await gql(
        'query ($t: DateTime!) { workspace(slug: "acme") { issues(filter: {createdAt: {eq: $t}}) { nodes { id } } } }',
        {"t": naive},
    )
    assert len(n["data"]["workspace"]["issues"]["nodes"]) == 1, n


# ---- 2. transactions / results -----------------------------------------------------------


async def test_a_committed_mutation_is_reported_when_a_later_one_fails(gql, connection):
    doc = """mutation ($a: IssueCreateInput!, $b: IssueUpdateInput!) {
      a: issueCreate(input: $a) { issue { id identifier } errors { code } }
      b: issueUpdate(input: $b) { issue { id } errors { code } } }"""
    body = await gql(
        doc,
        {
            "a": {"projectId": await project_id(connection), "title": "committed-but-unreported"},
            "b": {"id": to_global_id("Issue", 999999999), "title": "x"},
        },
    )
    n = (
        await ids(
            connection, "SELECT count(*) FROM issues WHERE title = 'committed-but-unreported'"
        )
    )[0]
    assert not (n == 1 and body["data"] is None), body


async def test_an_empty_reorder_entry_reads_cleanly(gql, connection):
    await connection.execute(text("DELETE FROM labels WHERE workspace_id = 1"))
    await gql(
        "mutation ($i: LabelReorderInput!) { labelReorder(input: $i) { errors { code } } }",
        {"i": {"workspaceId": to_global_id("Workspace", 1), "labelIds": []}},
    )
    a = await gql(
        '{ workspace(slug: "acme") { activity(last: 5) { nodes { action fromNode { id } toNode { id } } } } }'
    )
    assert "errors" not in a, a


async def test_deleting_a_label_bumps_its_issues_versions(gql, connection):
    label = (
        await global_ids(
            connection,
            "Label",
            "SELECT label_id FROM issue_labels WHERE workspace_id = 1 ORDER BY issue_id LIMIT 1",
        )
    )[0]
    issue = (
        await global_ids(
            connection,
            "Issue",
            "SELECT issue_id FROM issue_labels WHERE workspace_id = 1 ORDER BY issue_id LIMIT 1",
        )
    )[0]
    q = "query ($id: ID!) { node(id: $id) { ... on Issue { version } } }"
    before = (await gql(q, {"id": issue}))["data"]["node"]["version"]
    await gql(
        "mutation ($i: LabelDeleteInput!) { labelDelete(input: $i) { errors { code } } }",
        {"i": {"id": label}},
    )
    after = (await gql(q, {"id": issue}))["data"]["node"]["version"]
    assert after == before + 1, (before, after)


async def test_deleting_a_parent_bumps_its_childrens_versions(gql, connection):
    a, b = await global_ids(
        connection, "Issue", "SELECT id FROM issues WHERE workspace_id = 1 ORDER BY id LIMIT 2"
    )
    await gql(UPDATE, {"input": {"id": b, "parentId": a}})
    q = "query ($id: ID!) { node(id: $id) { ... on Issue { version parent { id } } } }"
    before = (await gql(q, {"id": b}))["data"]["node"]
    await gql(
        "mutation ($i: IssueDeleteInput!) { issueDelete(input: $i) { errors { code } } }",
        {"i": {"id": a}},
    )
    after = (await gql(q, {"id": b}))["data"]["node"]
    assert after["version"] == before["version"] + 1, (before, after)


# ---- 3. concurrency (real connections and commits) -----------------------------------------


async def test_a_state_delete_waits_for_an_issue_moving_into_it(race):
    db, ws = race["database"], race["workspace"]
    doing = (
        await sql(
            db,
            (
                "INSERT INTO workflow_states (workspace_id, name, type, position) VALUES (:w, "
                "'Doing', 'STARTED', 1) RETURNING id"
            ),
            w=ws,
        )
    )[0][0]
    issue = await new_issue(race, "mover")
    holder = await hold_stream_lock(db)
    u, d = await one_after_another(
        holder,
        raw(
            race["client"],
            GQL_UPDATE,
            {"input": {"id": issue, "stateId": to_global_id("WorkflowState", doing)}},
        ),
        raw(race["client"], STATE_DELETE, {"i": {"id": to_global_id("WorkflowState", doing)}}),
    )
    assert "errors" not in u and "errors" not in d, (u, d)  # the delete was a ForeignKeyViolation


async def test_two_concurrent_state_deletes_keep_one_state(race):
    db, ws = race["database"], race["workspace"]
    s2 = (
        await sql(
            db,
            (
                "INSERT INTO workflow_states (workspace_id, name, type, position) VALUES (:w, "
                "'Two', 'STARTED', 1) RETURNING id"
            ),
            w=ws,
        )
    )[0][0]
    s1 = (
        await sql(
            db, "SELECT id FROM workflow_states WHERE workspace_id = :w AND name = 'Todo'", w=ws
        )
    )[0][0]
    holder = await hold_stream_lock(db)
    await one_after_another(
        holder,
        raw(race["client"], STATE_DELETE, {"i": {"id": to_global_id("WorkflowState", s1)}}),
        raw(race["client"], STATE_DELETE, {"i": {"id": to_global_id("WorkflowState", s2)}}),
    )
    left = (await sql(db, "SELECT count(*) FROM workflow_states WHERE workspace_id = :w", w=ws))[0][
        0
    ]
    assert left >= 1, "both deletes succeeded; issueCreate is now a NotNullViolation 500"


async def test_no_issue_is_created_in_a_project_being_archived(race):
    db = race["database"]
    holder = await hold_stream_lock(db)
    await one_after_another(
        holder,
        raw(
            race["client"],
            (
                "mutation ($i: ProjectArchiveInput!) { projectArchive(input: $i) { errors { "
                "code } } }"
            ),
            {"i": {"id": race["project"]}},
        ),
        raw(
            race["client"],
            CREATE,
            {"input": {"projectId": race["project"], "title": "sneaks in"}},
        ),
    )
    n = (
        await sql(
            db,
            "SELECT count(*) FROM issues i JOIN projects p ON p.id = i.project_id "
            "WHERE p.workspace_id = :w AND i.created_at > p.archived_at",
            w=race["workspace"],
        )
    )[0][0]
    assert n == 0, "an issue was created in an archived project"


async def test_a_comment_on_an_issue_being_deleted_is_not_found(race):
    db = race["database"]
    issue = await new_issue(race, "doomed")
    holder = await hold_stream_lock(db)
    _, c = await one_after_another(
        holder,
        raw(
            race["client"],
            "mutation ($i: IssueDeleteInput!) { issueDelete(input: $i) { errors { code } } }",
            {"i": {"id": issue}},
        ),
        raw(
            race["client"],
            ("mutation ($i: CommentCreateInput!) { commentCreate(input: $i) { errors { code } } }"),
            {"i": {"issueId": issue, "body": "hello"}},
        ),
    )
    assert [e["extensions"]["code"] for e in c.get("errors", [])] in ([], ["NOT_FOUND"]), c


async def test_a_label_delete_sees_a_concurrent_add_of_it(race):
    db, ws = race["database"], race["workspace"]
    label = (
        await sql(
            db,
            (
                "INSERT INTO labels (workspace_id, name, color, position) VALUES (:w, 'bug', "
                "'#aabbcc', 0) RETURNING id"
            ),
            w=ws,
        )
    )[0][0]
    issue = await new_issue(race, "labelled")
    holder = await hold_stream_lock(db)
    await one_after_another(
        holder,
        raw(
            race["client"],
            GQL_UPDATE,
            {"input": {"id": issue, "addLabelIds": [to_global_id("Label", label)]}},
        ),
        raw(
            race["client"],
            "mutation ($i: LabelDeleteInput!) { labelDelete(input: $i) { errors { code } } }",
            {"i": {"id": to_global_id("Label", label)}},
        ),
    )
    rows = await sql(
        db,
        "SELECT from_value, to_value FROM activity WHERE workspace_id = :w AND field = 'labels'",
        w=ws,
    )
    added = sum(1 for r in rows if r[1] == str(label))
    removed = sum(1 for r in rows if r[0] == str(label))
    assert added == removed, "the log says the label is still on the issue; it is not"


async def test_a_batch_move_and_a_parent_change_do_not_deadlock(race):
    db, ws = race["database"], race["workspace"]
    q = (
        await sql(
            db,
            "INSERT INTO projects (workspace_id, key, name) VALUES (:w, 'QQ', 'Q') RETURNING id",
            w=ws,
        )
    )[0][0]
    x, a, b, d = [await new_issue(race, t) for t in ("x", "a", "b", "d")]
    await post(race["client"], GQL_UPDATE, {"input": {"id": a, "parentId": x}})
    holder = db.request_handle()
    await holder.fetch_all(text("SELECT id FROM projects WHERE id = :q FOR UPDATE").bindparams(q=q))
    r1, r2 = await one_after_another(
        holder,
        raw(
            race["client"],
            (
                "mutation ($i: IssueBatchUpdateInput!) { issueBatchUpdate(input: $i) { "
                "errors { code } } }"
            ),
            {
                "i": {
                    "ids": [a, b],
                    "changes": {"parentId": x, "projectId": to_global_id("Project", q)},
                }
            },
        ),
        raw(
            race["client"],
            GQL_UPDATE,
            {"input": {"id": d, "parentId": x, "projectId": to_global_id("Project", q)}},
        ),
    )
    assert "errors" not in r1 and "errors" not in r2, (r1, r2)  # one: DeadlockDetected


async def test_a_state_delete_with_move_and_a_batch_do_not_deadlock(race):
    db, ws = race["database"], race["workspace"]
    s2 = (
        await sql(
            db,
            (
                "INSERT INTO workflow_states (workspace_id, name, type, position) VALUES (:w, "
                "'Two', 'STARTED', 1) RETURNING id"
            ),
            w=ws,
        )
    )[0][0]
    s1 = (
        await sql(
            db, "SELECT id FROM workflow_states WHERE workspace_id = :w AND name = 'Todo'", w=ws
        )
    )[0][0]
    a, b = await new_issue(race, "a"), await new_issue(race, "b")
    for _ in range(3):  # move a's tuple after b's, so the state's UPDATE meets b first
        await sql(
            db, "UPDATE issues SET title = title || '.' WHERE id = :i", i=from_global_id(a)[1]
        )
    # Without id-ordered locking, the state's UPDATE would meet b first (heap order): held here.
    first = from_global_id(b)[1]
    holder = db.request_handle()
    await holder.fetch_all(
        text("SELECT id FROM issues WHERE id = :i FOR UPDATE").bindparams(i=first)
    )
    d, bt = await one_after_another(
        holder,
        raw(
            race["client"],
            STATE_DELETE,
            {
                "i": {
                    "id": to_global_id("WorkflowState", s1),
                    "moveIssuesToId": to_global_id("WorkflowState", s2),
                }
            },
        ),
        raw(
            race["client"],
            (
                "mutation ($i: IssueBatchUpdateInput!) { issueBatchUpdate(input: $i) { "
                "errors { code } } }"
            ),
            {"i": {"ids": [a, b], "changes": {"priority": "HIGH"}}},
        ),
    )
    assert "errors" not in d and "errors" not in bt, (d, bt)  # one: DeadlockDetected


async def test_a_workspace_delete_and_an_issue_update_in_flight_do_not_deadlock(race):
    db = race["database"]
    i1 = await new_issue(race, "in-w1")
    holder = await hold_stream_lock(db)
    r2, r1 = await one_after_another(
        holder,
        raw(race["client"], GQL_UPDATE, {"input": {"id": i1, "title": "edit"}}),
        raw(
            race["client"],
            (
                "mutation ($id: ID!) { workspaceDelete(input: {id: $id}) { "
                "deletedWorkspaceId errors { code } } }"
            ),
            {"id": to_global_id("Workspace", race["workspace"])},
        ),
    )
    assert "errors" not in r1 and "errors" not in r2, (r1, r2)  # one: DeadlockDetected


async def test_a_locked_workspace_does_not_stall_other_workspaces_writes(race):
    db = race["database"]
    w2 = (
        await sql(
            db, "INSERT INTO workspaces (slug, name) VALUES ('race-test-two', 'R2') RETURNING id"
        )
    )[0][0]
    try:
        await sql(
            db,
            (
                "INSERT INTO memberships (workspace_id, user_id, role) SELECT :w, id, 'OWNER' "
                "FROM users WHERE email = :e"
            ),
            w=w2,
            e=OWNER,
        )
        await sql(
            db,
            (
                "INSERT INTO workflow_states (workspace_id, name, type, position) VALUES (:w, "
                "'Todo', 'UNSTARTED', 0)"
            ),
            w=w2,
        )
        p2 = (
            await sql(
                db,
                (
                    "INSERT INTO projects (workspace_id, key, name) VALUES (:w, 'TWO', 'Two') "
                    "RETURNING id"
                ),
                w=w2,
            )
        )[0][0]
        i1 = await new_issue(race, "in-w1")
        i2 = await new_issue(race, "in-w2", to_global_id("Project", p2))
        holder = (
            db.request_handle()
        )  # the lock workspaceDelete (or a slug change) holds until commit
        await holder.fetch_all(
            text("SELECT id FROM workspaces WHERE id = :w FOR UPDATE").bindparams(
                w=race["workspace"]
            )
        )
        try:
            t2 = asyncio.create_task(
                raw(race["client"], GQL_UPDATE, {"input": {"id": i1, "title": "w1 edit"}})
            )
            await asyncio.sleep(0.3)
            t3 = asyncio.create_task(
                raw(race["client"], GQL_UPDATE, {"input": {"id": i2, "title": "w2 edit"}})
            )
            done, _ = await asyncio.wait({t3}, timeout=1.5)
        finally:
            await holder.close()
        await asyncio.gather(t2, t3)
        assert done, (
            "a write in workspace 2 waited for workspace 1's row lock (stream lock held meanwhile)"
        )
    finally:
        await sql(db, "DELETE FROM workspaces WHERE id = :w", w=w2)
