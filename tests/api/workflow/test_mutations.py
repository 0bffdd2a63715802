"""Projects, labels and workflow states: ADMIN+ only, typed errors, ordering, the log."""

from __future__ import annotations

from tests.support.actors import ADMIN, MEMBER, STRANGER
from tests.support.factories import ACME, ACME_PK, create_issue, project_id
from tests.support.ids import global_ids, ids, pk

PROJECT = """mutation ($input: ProjectCreateInput!) { projectCreate(input: $input) {
    project { id key name lead { email } archivedAt } errors { code field } } }"""
LABEL = """mutation ($input: LabelCreateInput!) { labelCreate(input: $input) {
    label { id name color position } errors { code field } } }"""
STATE = """mutation ($input: WorkflowStateCreateInput!) { workflowStateCreate(input: $input) {
    workflowState { id name type position } errors { code field } } }"""


async def test_project_create_update_archive(gql, gql_as, connection):
    member = (
        await global_ids(connection, "User", "SELECT id FROM users WHERE email = :e", e=MEMBER)
    )[0]
    body = await gql(
        PROJECT, {"input": {"workspaceId": ACME, "key": "new", "name": "New", "leadId": member}}
    )
    project = body["data"]["projectCreate"]["project"]
    assert (project["key"], project["lead"]["email"]) == ("NEW", MEMBER)
    taken = await gql(PROJECT, {"input": {"workspaceId": ACME, "key": "NEW", "name": "Again"}})
    assert [e["code"] for e in taken["data"]["projectCreate"]["errors"]] == ["KEY_TAKEN"]
    bad = await gql(PROJECT, {"input": {"workspaceId": ACME, "key": "1x", "name": ""}})
    assert sorted(e["field"][0] for e in bad["data"]["projectCreate"]["errors"]) == ["key", "name"]
    refused = await gql_as(MEMBER)(
        PROJECT, {"input": {"workspaceId": ACME, "key": "M", "name": "m"}}
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    stranger = await gql_as(STRANGER)(
        PROJECT, {"input": {"workspaceId": ACME, "key": "S", "name": "s"}}
    )
    assert stranger["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    update = """mutation ($input: ProjectUpdateInput!) { projectUpdate(input: $input) {
        project { name lead { email } } errors { code } } }"""
    changed = await gql_as(ADMIN)(
        update, {"input": {"id": project["id"], "name": "Renamed", "leadId": None}}
    )
    assert changed["data"]["projectUpdate"]["project"] == {"name": "Renamed", "lead": None}

    archive = """mutation ($id: ID!) { projectArchive(input: {id: $id}) {
        project { archivedAt } errors { code } } }"""
    archived = await gql(archive, {"id": project["id"]})
    assert archived["data"]["projectArchive"]["project"]["archivedAt"] is not None
    refused = await create_issue(gql, connection, projectId=project["id"])
    assert [e["code"] for e in refused["errors"]] == ["ARCHIVED"]
    unarchive = archive.replace("projectArchive", "projectUnarchive")
    restored = await gql(unarchive, {"id": project["id"]})
    assert restored["data"]["projectUnarchive"]["project"]["archivedAt"] is None
    fields = await ids(
        connection,
        "SELECT coalesce(field, action) FROM activity "
        "WHERE subject_type = 'Project' AND subject_id = :p ORDER BY id",
        p=pk(project["id"]),
    )
    assert fields == ["CREATED", "name", "lead", "ARCHIVED", "UNARCHIVED"]


async def test_labels_create_update_reorder_delete(gql, connection):
    created = await gql(
        LABEL, {"input": {"workspaceId": ACME, "name": "urgent-ish", "color": "#ABCDEF"}}
    )
    label = created["data"]["labelCreate"]["label"]
    assert label["color"] == "#abcdef"
    count = (await ids(connection, f"SELECT count(*) FROM labels WHERE workspace_id = {ACME_PK}"))[
        0
    ]
    assert label["position"] == count - 1  # last
    taken = await gql(
        LABEL, {"input": {"workspaceId": ACME, "name": "urgent-ish", "color": "#000000"}}
    )
    assert [e["code"] for e in taken["data"]["labelCreate"]["errors"]] == ["NAME_TAKEN"]
    bad = await gql(LABEL, {"input": {"workspaceId": ACME, "name": "x", "color": "red"}})
    assert [e["field"] for e in bad["data"]["labelCreate"]["errors"]] == [["color"]]

    every = await global_ids(
        connection,
        "Label",
        f"SELECT id FROM labels WHERE workspace_id = {ACME_PK} ORDER BY position, id",
    )
    reorder = """mutation ($input: LabelReorderInput!) { labelReorder(input: $input) {
        labels { id position } errors { code } } }"""
    reversed_ids = every[::-1]
    body = await gql(reorder, {"input": {"workspaceId": ACME, "labelIds": reversed_ids}})
    assert [n["id"] for n in body["data"]["labelReorder"]["labels"]] == reversed_ids
    listed = await gql("""{ workspace(slug: "acme") { labels(first: 100) { nodes { id } } } }""")
    assert [n["id"] for n in listed["data"]["workspace"]["labels"]["nodes"]] == reversed_ids
    partial = await gql(reorder, {"input": {"workspaceId": ACME, "labelIds": every[1:]}})
    assert [e["code"] for e in partial["data"]["labelReorder"]["errors"]] == ["INVALID_INPUT"]

    issue = (await create_issue(gql, connection, labelIds=[label["id"]]))["issue"]
    delete = """mutation ($id: ID!) { labelDelete(input: {id: $id}) { deletedLabelId } }"""
    assert (await gql(delete, {"id": label["id"]}))["data"]["labelDelete"]["deletedLabelId"]
    removed = await ids(
        connection,
        "SELECT from_value FROM activity WHERE issue_id = :i AND field = 'labels'",
        i=pk(issue["id"]),
    )
    assert removed == [str(pk(label["id"]))]


async def test_workflow_states(gql, connection):
    created = await gql(
        STATE, {"input": {"workspaceId": ACME, "name": "Review", "type": "STARTED"}}
    )
    state = created["data"]["workflowStateCreate"]["workflowState"]
    assert state["type"] == "STARTED"
    taken = await gql(STATE, {"input": {"workspaceId": ACME, "name": "Review", "type": "STARTED"}})
    assert [e["code"] for e in taken["data"]["workflowStateCreate"]["errors"]] == ["NAME_TAKEN"]

    update = """mutation ($input: WorkflowStateUpdateInput!) { workflowStateUpdate(input: $input)
        { workflowState { name type } errors { code } } }"""
    changed = await gql(update, {"input": {"id": state["id"], "name": "In review"}})
    assert changed["data"]["workflowStateUpdate"]["workflowState"]["name"] == "In review"
    clash = await gql(update, {"input": {"id": state["id"], "name": "Done"}})
    assert [e["code"] for e in clash["data"]["workflowStateUpdate"]["errors"]] == ["NAME_TAKEN"]

    issue = (await create_issue(gql, connection, stateId=state["id"]))["issue"]
    delete = """mutation ($input: WorkflowStateDeleteInput!) { workflowStateDelete(input: $input)
        { deletedWorkflowStateId errors { code } } }"""
    in_use = await gql(delete, {"input": {"id": state["id"]}})
    assert [e["code"] for e in in_use["data"]["workflowStateDelete"]["errors"]] == ["STATE_IN_USE"]
    done = (
        await global_ids(
            connection,
            "WorkflowState",
            f"SELECT id FROM workflow_states WHERE workspace_id = {ACME_PK} AND name = 'Done'",
        )
    )[0]
    moved = await gql(delete, {"input": {"id": state["id"], "moveIssuesToId": done}})
    assert moved["data"]["workflowStateDelete"]["deletedWorkflowStateId"] == state["id"]
    current = await ids(
        connection,
        "SELECT s.name FROM issues i JOIN workflow_states s ON s.id = i.state_id WHERE i.id = :i",
        i=pk(issue["id"]),
    )
    assert current == ["Done"]


async def test_the_last_state_cannot_be_deleted(gql, connection):
    await gql("""mutation { workspaceCreate(input: {slug: "tiny", name: "Tiny"}) {
        errors { code } } }""")
    states = await global_ids(
        connection,
        "WorkflowState",
        "SELECT s.id FROM workflow_states s "
        "JOIN workspaces w ON w.id = s.workspace_id WHERE w.slug = 'tiny' "
        "ORDER BY s.position",
    )
    delete = """mutation ($input: WorkflowStateDeleteInput!) { workflowStateDelete(input: $input)
        { deletedWorkflowStateId errors { code } } }"""
    for state in states[:-1]:
        body = await gql(delete, {"input": {"id": state}})
        assert body["data"]["workflowStateDelete"]["errors"] == []
    last = await gql(delete, {"input": {"id": states[-1]}})
    assert [e["code"] for e in last["data"]["workflowStateDelete"]["errors"]] == ["LAST_STATE"]


async def test_states_reorder(gql, connection):
    states = await global_ids(
        connection,
        "WorkflowState",
        f"SELECT id FROM workflow_states WHERE workspace_id = {ACME_PK} ORDER BY position",
    )
    reorder = """mutation ($input: WorkflowStateReorderInput!) {
        workflowStateReorder(input: $input) { workflowStates { id position } errors { code } } }"""
    body = await gql(reorder, {"input": {"workspaceId": ACME, "stateIds": states[::-1]}})
    payload = body["data"]["workflowStateReorder"]
    assert [s["id"] for s in payload["workflowStates"]] == states[::-1]
    assert [s["position"] for s in payload["workflowStates"]] == list(range(len(states)))
    await project_id(connection)


async def test_label_update(gql, gql_as, connection):
    label, other = await global_ids(
        connection,
        "Label",
        f"SELECT id FROM labels WHERE workspace_id = {ACME_PK} ORDER BY id LIMIT 2",
    )
    update = """mutation ($input: LabelUpdateInput!) { labelUpdate(input: $input) {
        label { name color } errors { code field } } }"""
    body = await gql_as(ADMIN)(
        update, {"input": {"id": label, "name": "renamed", "color": "#00FF00"}}
    )
    assert body["data"]["labelUpdate"]["label"] == {"name": "renamed", "color": "#00ff00"}
    other_name = (await ids(connection, "SELECT name FROM labels WHERE id = :i", i=pk(other)))[0]
    clash = await gql(update, {"input": {"id": label, "name": other_name}})
    assert [e["code"] for e in clash["data"]["labelUpdate"]["errors"]] == ["NAME_TAKEN"]
    logged = await ids(
        connection,
        "SELECT field || ':' || to_value FROM activity "
        "WHERE subject_type = 'Label' AND subject_id = :i ORDER BY id",
        i=pk(label),
    )
    assert logged == ["name:renamed", "color:#00ff00"]
