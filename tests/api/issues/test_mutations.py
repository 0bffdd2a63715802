"""Issue mutations: each success, each typed error, permissions, versions, the activity log."""

from __future__ import annotations

from sqlalchemy import text

from tests.support.actors import GUEST, MEMBER, STRANGER
from tests.support.factories import ACME_PK, GLOBEX_PK, create_issue, project_id
from tests.support.factories import ISSUE_CREATE as CREATE
from tests.support.factories import ISSUE_UPDATE as UPDATE
from tests.support.ids import global_ids, ids, pk, to_global_id


async def test_create_takes_the_next_number_and_defaults(gql, connection):
    last = (await ids(connection, "SELECT last_issue_number FROM projects WHERE key = 'ENG'"))[0]
    payload = await create_issue(gql, connection, title="  Fix the login page ")
    issue = payload["issue"]
    assert payload["errors"] == []
    assert issue["identifier"] == f"ENG-{last + 1}"
    assert issue["version"] == 1
    assert issue["priority"] == "NONE"
    assert issue["state"]["name"] == "Backlog"
    assert issue["title"] == "Fix the login page"
    rows = (
        await connection.execute(
            text(
                "SELECT a.action, a.actor_id IS NOT NULL FROM activity a "
                "JOIN issues i ON i.id = a.issue_id WHERE i.title = 'Fix the login page'"
            )
        )
    ).all()
    assert [tuple(row) for row in rows] == [("CREATED", True)]


async def test_create_with_every_field(gql, connection):
    labels = await global_ids(
        connection,
        "Label",
        f"SELECT id FROM labels WHERE workspace_id = {ACME_PK} ORDER BY id LIMIT 2",
    )
    state = (
        await global_ids(
            connection,
            "WorkflowState",
            f"SELECT id FROM workflow_states WHERE workspace_id = {ACME_PK} AND "
            "name = 'In Progress'",
        )
    )[0]
    member = (
        await global_ids(connection, "User", "SELECT id FROM users WHERE email = :e", e=MEMBER)
    )[0]
    parent = await create_issue(gql, connection, title="Parent")
    payload = await create_issue(
        gql,
        connection,
        title="Child",
        description="**bold**",
        stateId=state,
        priority="HIGH",
        assigneeId=member,
        labelIds=labels,
        parentId=parent["issue"]["id"],
        estimate=3,
        dueDate="2027-01-31",
    )
    issue = payload["issue"]
    assert issue["state"]["name"] == "In Progress"
    assert issue["assignee"]["email"] == MEMBER
    assert issue["parent"]["identifier"] == parent["issue"]["identifier"]
    assert len(issue["labels"]["nodes"]) == 2
    assert (issue["estimate"], issue["dueDate"], issue["priority"]) == (3, "2027-01-31", "HIGH")


async def test_create_validates_every_field_and_writes_nothing(gql, connection):
    before = await ids(connection, "SELECT count(*) FROM issues")
    other_label = (
        await global_ids(
            connection, "Label", f"SELECT id FROM labels WHERE workspace_id = {GLOBEX_PK} LIMIT 1"
        )
    )[0]
    stranger = (
        await global_ids(connection, "User", "SELECT id FROM users WHERE email = :e", e=STRANGER)
    )[0]
    body = await gql(
        CREATE,
        {
            "input": {
                "projectId": await project_id(connection),
                "title": "x" * 256,
                "description": "é" * 40000,
                "estimate": -1,
                "labelIds": [other_label, "garbage"],
                "assigneeId": stranger,
            }
        },
    )
    errors = body["data"]["issueCreate"]["errors"]
    assert body["data"]["issueCreate"]["issue"] is None
    assert {(e["code"], tuple(e["field"])) for e in errors} == {
        ("INVALID_INPUT", ("title",)),
        ("INVALID_INPUT", ("description",)),
        ("INVALID_INPUT", ("estimate",)),
        ("NOT_FOUND", ("labelIds", "1")),
        ("NOT_FOUND", ("labelIds", "0")),
        ("NOT_A_MEMBER", ("assigneeId",)),
    }
    assert await ids(connection, "SELECT count(*) FROM issues") == before


async def test_create_refuses_blank_titles_and_archived_projects(gql, connection):
    body = await gql(CREATE, {"input": {"projectId": await project_id(connection), "title": "   "}})
    assert [e["code"] for e in body["data"]["issueCreate"]["errors"]] == ["INVALID_INPUT"]
    await connection.execute(text("UPDATE projects SET archived_at = now() WHERE key = 'DES'"))
    body = await gql(
        CREATE, {"input": {"projectId": await project_id(connection, "DES"), "title": "t"}}
    )
    assert [e["code"] for e in body["data"]["issueCreate"]["errors"]] == ["ARCHIVED"]


async def test_permissions(gql_as, connection):
    project = await project_id(connection)
    guest = await gql_as(GUEST)(CREATE, {"input": {"projectId": project, "title": "t"}})
    assert guest["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    stranger = await gql_as(STRANGER)(CREATE, {"input": {"projectId": project, "title": "t"}})
    assert stranger["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    member = await gql_as(MEMBER)(CREATE, {"input": {"projectId": project, "title": "t"}})
    assert member["data"]["issueCreate"]["errors"] == []


async def test_update_changes_only_given_fields_and_logs_each(gql, connection):
    issue = (await create_issue(gql, connection, title="Before", priority="LOW", estimate=2))[
        "issue"
    ]
    body = await gql(
        UPDATE,
        {
            "input": {
                "id": issue["id"],
                "title": "After",
                "priority": "URGENT",
                "estimate": None,
                "description": "new text",
            }
        },
    )
    payload = body["data"]["issueUpdate"]
    assert payload["errors"] == []
    updated = payload["issue"]
    assert (updated["title"], updated["priority"], updated["estimate"]) == ("After", "URGENT", None)
    assert updated["description"] == "new text"
    assert updated["version"] == 2
    rows = (
        await connection.execute(
            text(
                "SELECT field, from_value, to_value FROM activity "
                "WHERE issue_id = :id AND action = 'UPDATED' ORDER BY id"
            ),
            {"id": int(pk(issue["id"]))},
        )
    ).all()
    assert sorted(tuple(r) for r in rows) == sorted(
        [
            ("title", "Before", "After"),
            ("priority", "LOW", "URGENT"),
            ("estimate", "2", None),
            ("description", None, None),
        ]
    )


async def test_an_update_that_changes_nothing_keeps_the_version(gql, connection):
    issue = (await create_issue(gql, connection, title="Same"))["issue"]
    body = await gql(UPDATE, {"input": {"id": issue["id"], "title": "Same"}})
    assert body["data"]["issueUpdate"]["issue"]["version"] == 1


async def test_expected_version_conflict_writes_nothing(gql, connection):
    issue = (await create_issue(gql, connection, title="v1"))["issue"]
    await gql(UPDATE, {"input": {"id": issue["id"], "title": "v2"}})
    body = await gql(UPDATE, {"input": {"id": issue["id"], "title": "v3", "expectedVersion": 1}})
    payload = body["data"]["issueUpdate"]
    assert [e["code"] for e in payload["errors"]] == ["CONFLICT"]
    assert payload["issue"]["title"] == "v2"  # the current object
    assert payload["issue"]["version"] == 2
    ok = await gql(UPDATE, {"input": {"id": issue["id"], "title": "v3", "expectedVersion": 2}})
    assert ok["data"]["issueUpdate"]["issue"]["version"] == 3


async def test_labels_set_add_and_remove(gql, connection):
    a, b, c = await global_ids(
        connection,
        "Label",
        f"SELECT id FROM labels WHERE workspace_id = {ACME_PK} ORDER BY id LIMIT 3",
    )
    issue = (await create_issue(gql, connection, labelIds=[a]))["issue"]

    async def labels(**change) -> list[str]:
        body = await gql(UPDATE, {"input": {"id": issue["id"], **change}})
        assert body["data"]["issueUpdate"]["errors"] == [], body
        return sorted(n["name"] for n in body["data"]["issueUpdate"]["issue"]["labels"]["nodes"])

    names = {
        gid: (await ids(connection, "SELECT name FROM labels WHERE id = :i", i=pk(gid)))[0]
        for gid in (a, b, c)
    }
    assert await labels(addLabelIds=[b, c]) == sorted([names[a], names[b], names[c]])
    assert await labels(removeLabelIds=[a]) == sorted([names[b], names[c]])
    assert await labels(labelIds=[a]) == [names[a]]
    body = await gql(UPDATE, {"input": {"id": issue["id"], "labelIds": [a], "addLabelIds": [b]}})
    assert [e["code"] for e in body["data"]["issueUpdate"]["errors"]] == ["INVALID_INPUT"]


async def test_parent_cycles_are_refused(gql, connection):
    top = (await create_issue(gql, connection, title="top"))["issue"]
    middle = (await create_issue(gql, connection, title="middle", parentId=top["id"]))["issue"]
    bottom = (await create_issue(gql, connection, title="bottom", parentId=middle["id"]))["issue"]
    for parent in (bottom["id"], top["id"]):
        body = await gql(UPDATE, {"input": {"id": top["id"], "parentId": parent}})
        assert [(e["code"], e["field"]) for e in body["data"]["issueUpdate"]["errors"]] == [
            ("CYCLE", ["parentId"])
        ]
    body = await gql(UPDATE, {"input": {"id": bottom["id"], "parentId": None}})
    assert body["data"]["issueUpdate"]["issue"]["parent"] is None


async def test_moving_to_another_project_renumbers(gql, connection):
    issue = (await create_issue(gql, connection))["issue"]
    last = (await ids(connection, "SELECT last_issue_number FROM projects WHERE key = 'OPS'"))[0]
    body = await gql(
        UPDATE, {"input": {"id": issue["id"], "projectId": await project_id(connection, "OPS")}}
    )
    moved = body["data"]["issueUpdate"]["issue"]
    assert moved["identifier"] == f"OPS-{last + 1}"
    assert moved["project"]["key"] == "OPS"


async def test_references_of_another_workspace_are_not_found(gql, connection):
    issue = (await create_issue(gql, connection))["issue"]
    state = (
        await global_ids(
            connection,
            "WorkflowState",
            f"SELECT id FROM workflow_states WHERE workspace_id = {GLOBEX_PK} LIMIT 1",
        )
    )[0]
    project = await project_id(connection, "GLX", 2)
    parent = (
        await global_ids(
            connection, "Issue", f"SELECT id FROM issues WHERE workspace_id = {GLOBEX_PK} LIMIT 1"
        )
    )[0]
    body = await gql(
        UPDATE,
        {"input": {"id": issue["id"], "stateId": state, "projectId": project, "parentId": parent}},
    )
    assert sorted((e["code"], e["field"][0]) for e in body["data"]["issueUpdate"]["errors"]) == [
        ("NOT_FOUND", "parentId"),
        ("NOT_FOUND", "projectId"),
        ("NOT_FOUND", "stateId"),
    ]


async def test_archive_unarchive_and_delete(gql, gql_as, connection):
    issue = (await create_issue(gql, connection))["issue"]
    archive = """mutation ($id: ID!) { issueArchive(input: {id: $id}) {
        issue { archivedAt version } errors { code } } }"""
    unarchive = archive.replace("issueArchive", "issueUnarchive")
    archived = (await gql(archive, {"id": issue["id"]}))["data"]["issueArchive"]["issue"]
    assert archived["archivedAt"] is not None and archived["version"] == 2
    restored = (await gql(unarchive, {"id": issue["id"]}))["data"]["issueUnarchive"]["issue"]
    assert restored["archivedAt"] is None and restored["version"] == 3

    delete = (
        "mutation ($id: ID!) { issueDelete(input: {id: $id}) { deletedIssueId errors { code } } }"
    )
    refused = await gql_as(MEMBER)(delete, {"id": issue["id"]})  # not the creator
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    deleted = await gql(delete, {"id": issue["id"]})
    assert deleted["data"]["issueDelete"]["deletedIssueId"] == issue["id"]
    assert await ids(
        connection, "SELECT count(*) FROM issues WHERE id = :i", i=pk(issue["id"])
    ) == [0]
    actions = await ids(
        connection,
        "SELECT action FROM activity WHERE issue_id = :i ORDER BY id",
        i=pk(issue["id"]),
    )
    assert actions == ["CREATED", "ARCHIVED", "UNARCHIVED", "DELETED"]


BATCH = """mutation ($input: IssueBatchUpdateInput!) { issueBatchUpdate(input: $input) {
    issues { id priority state { name } labels { nodes { name } } version }
    errors { code field } } }"""


async def test_batch_update_changes_every_issue_in_one_go(gql, connection, statements):
    created = [
        (await create_issue(gql, connection, title=f"b{i}"))["issue"]["id"] for i in range(3)
    ]
    label = (
        await global_ids(
            connection,
            "Label",
            f"SELECT id FROM labels WHERE workspace_id = {ACME_PK} ORDER BY id LIMIT 1",
        )
    )[0]
    body = await gql(
        BATCH, {"input": {"ids": created, "changes": {"priority": "HIGH", "addLabelIds": [label]}}}
    )
    payload = body["data"]["issueBatchUpdate"]
    assert payload["errors"] == []
    assert [i["id"] for i in payload["issues"]] == created
    assert {
        (i["priority"], len(i["labels"]["nodes"]), i["version"]) for i in payload["issues"]
    } == {("HIGH", 1, 2)}
    logged = await ids(
        connection,
        "SELECT count(*) FROM activity WHERE issue_id = ANY(:i) AND action = 'UPDATED'",
        i=[pk(g) for g in created],
    )
    assert logged == [6]  # priority and label, per issue


async def test_batch_update_is_all_or_nothing(gql, connection):
    created = [
        (await create_issue(gql, connection, title=f"b{i}"))["issue"]["id"] for i in range(2)
    ]
    other = to_global_id("Issue", 2**40)  # no such issue
    body = await gql(
        BATCH, {"input": {"ids": [*created, other], "changes": {"priority": "URGENT"}}}
    )
    payload = body["data"]["issueBatchUpdate"]
    assert payload["issues"] == []
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["ids", "2"])]
    priorities = await ids(
        connection,
        "SELECT DISTINCT priority::text FROM issues WHERE id = ANY(:i)",
        i=[pk(g) for g in created],
    )
    assert priorities == ["NONE"]

    # A cycle found half-way rolls back the issues already changed.
    parent = created[1]
    body = await gql(BATCH, {"input": {"ids": created, "changes": {"parentId": parent}}})
    assert [e["code"] for e in body["data"]["issueBatchUpdate"]["errors"]] == ["CYCLE"]
    parents = await ids(
        connection,
        "SELECT count(*) FROM issues WHERE id = ANY(:i) AND parent_id IS NOT NULL",
        i=[pk(g) for g in created],
    )
    assert parents == [0]


async def test_batch_update_limits(gql, connection):
    issue = (await create_issue(gql, connection))["issue"]["id"]
    body = await gql(BATCH, {"input": {"ids": [issue] * 51, "changes": {"priority": "LOW"}}})
    assert [e["code"] for e in body["data"]["issueBatchUpdate"]["errors"]] == ["TOO_MANY"]
    body = await gql(BATCH, {"input": {"ids": [], "changes": {"priority": "LOW"}}})
    assert [e["code"] for e in body["data"]["issueBatchUpdate"]["errors"]] == ["TOO_MANY"]


async def test_a_failed_mutation_is_rolled_back_even_after_an_earlier_one_in_the_document(
    gql, connection
):
    project = await project_id(connection)
    document = """mutation ($p: ID!) {
        ok: issueCreate(input: {projectId: $p, title: "kept"}) { errors { code } }
        bad: issueCreate(input: {projectId: $p, title: ""}) { errors { code } }
    }"""
    body = await gql(document, {"p": project})
    assert body["data"]["ok"]["errors"] == []
    assert [e["code"] for e in body["data"]["bad"]["errors"]] == ["INVALID_INPUT"]
    assert await ids(connection, "SELECT count(*) FROM issues WHERE title = 'kept'") == [1]
