"""Delta sync, as an offline client uses it: `workspace.changes(since:, first:)`."""

from __future__ import annotations

from typing import Any

from tests.support.actors import ADMIN, GUEST, OWNER, STRANGER
from tests.support.factories import (
    ACME,
    ISSUE_UPDATE,
    create_comment,
    create_issue,
    create_label,
)
from tests.support.graphql import GraphQL, assert_bad_input

CHANGES = """query ($since: String, $first: Int) { workspace(slug: "acme") {
    changes(since: $since, first: $first) {
        nodes { id __typename ... on Issue { title } ... on Comment { body }
                ... on Label { name } ... on Invitation { email } }
        deletedIds cursor hasMore } } }"""
HEAD = '{ workspace(slug: "acme") { changes { nodes { id } deletedIds cursor hasMore } } }'

COMMENT_UPDATE = """mutation ($id: ID!, $body: String!) {
    commentUpdate(input: {id: $id, body: $body}) { comment { id } errors { code } } }"""
LABEL_UPDATE = """mutation ($id: ID!, $name: String!) {
    labelUpdate(input: {id: $id, name: $name}) { label { id } errors { code } } }"""
LABEL_DELETE = """mutation ($id: ID!) {
    labelDelete(input: {id: $id}) { deletedLabelId errors { code } } }"""
ISSUE_DELETE = """mutation ($id: ID!) {
    issueDelete(input: {id: $id}) { deletedIssueId errors { code } } }"""
INVITE = """mutation ($input: MemberInviteInput!) {
    memberInvite(input: $input) { invitation { id } errors { code } } }"""
REVOKE = """mutation ($id: ID!) {
    invitationRevoke(input: {id: $id}) { revokedInvitationId errors { code } } }"""


async def _ok(gql: GraphQL, document: str, variables: dict[str, Any] | None = None) -> Any:
    """The payload of a mutation that must succeed."""
    body = await gql(document, variables)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert payload["errors"] == [], payload
    return payload


async def _head(gql: GraphQL) -> str:
    changes = (await gql(HEAD))["data"]["workspace"]["changes"]
    assert changes["nodes"] == [] and changes["deletedIds"] == [] and not changes["hasMore"]
    cursor: str = changes["cursor"]
    return cursor


async def _changes(gql: GraphQL, since: str | None, first: int | None = None) -> dict[str, Any]:
    body = await gql(CHANGES, {"since": since, "first": first})
    assert "errors" not in body, body
    changes: dict[str, Any] = body["data"]["workspace"]["changes"]
    return changes


async def _edit_everything(gql: GraphQL, connection: Any) -> dict[str, str]:
    """Creates, updates and deletes issues, a comment and labels; the ids of what it made."""
    kept = (await create_issue(gql, connection, title="kept v1"))["issue"]["id"]
    gone = (await create_issue(gql, connection, title="gone"))["issue"]["id"]
    comment = await create_comment(gql, kept, "first words")
    label = await create_label(gql, "sync-kept")
    dropped = await create_label(gql, "sync-dropped")
    await _ok(gql, ISSUE_UPDATE, {"input": {"id": kept, "title": "kept v2"}})
    await _ok(gql, COMMENT_UPDATE, {"id": comment, "body": "second words"})
    await _ok(gql, LABEL_DELETE, {"id": dropped})
    await _ok(gql, ISSUE_DELETE, {"id": gone})
    await _ok(gql, LABEL_UPDATE, {"id": label, "name": "sync-renamed"})
    await _ok(gql, ISSUE_UPDATE, {"input": {"id": kept, "title": "kept v3"}})
    return {"kept": kept, "gone": gone, "comment": comment, "label": label, "dropped": dropped}


async def test_a_sync_brings_each_changed_object_once_as_it_is_now(gql, connection):
    head = await _head(gql)
    made = await _edit_everything(gql, connection)

    changes = await _changes(gql, head)

    # In the order of each object's last change, with its values of now.
    assert changes["nodes"] == [
        {"id": made["comment"], "__typename": "Comment", "body": "second words"},
        {"id": made["label"], "__typename": "Label", "name": "sync-renamed"},
        {"id": made["kept"], "__typename": "Issue", "title": "kept v3"},
    ]
    assert changes["deletedIds"] == [made["dropped"], made["gone"]]
    assert changes["hasMore"] is False
    assert changes["cursor"] != head


async def test_resuming_from_the_cursor_brings_only_later_changes(gql, connection):
    head = await _head(gql)
    made = await _edit_everything(gql, connection)
    cursor = (await _changes(gql, head))["cursor"]

    nothing = await _changes(gql, cursor)
    assert nothing == {"nodes": [], "deletedIds": [], "cursor": cursor, "hasMore": False}
    assert await _head(gql) == cursor

    await _ok(gql, LABEL_UPDATE, {"id": made["label"], "name": "sync-later"})
    later = await _changes(gql, cursor)
    assert later["nodes"] == [{"id": made["label"], "__typename": "Label", "name": "sync-later"}]
    assert later["deletedIds"] == [] and later["cursor"] != cursor


async def test_paging_with_first_adds_up_to_one_sync(gql, connection):
    head = await _head(gql)
    await _edit_everything(gql, connection)
    whole = await _changes(gql, head)

    local: dict[str, Any] = {}
    since, calls = head, 0
    while True:
        page = await _changes(gql, since, first=2)
        calls += 1
        assert len(page["nodes"]) + len(page["deletedIds"]) <= 2
        local.update((node["id"], node) for node in page["nodes"])
        for deleted in page["deletedIds"]:
            local.pop(deleted, None)
        since = page["cursor"]
        if not page["hasMore"]:
            break
    # The 11 entries of `_edit_everything` (one per change it makes), 2 a call.
    assert calls == 6
    assert since == whole["cursor"]
    assert local == {node["id"]: node for node in whole["nodes"]}


async def test_an_object_gone_after_the_entries_read_is_a_tombstone(gql, connection):
    head = await _head(gql)
    issue = (await create_issue(gql, connection, title="short-lived"))["issue"]["id"]
    await _ok(gql, ISSUE_DELETE, {"id": issue})

    first = await _changes(gql, head, first=1)  # its creation only: no DELETED entry read

    assert first["nodes"] == [] and first["deletedIds"] == [issue] and first["hasMore"]
    rest = await _changes(gql, first["cursor"])
    assert rest["deletedIds"] == [issue] and not rest["hasMore"]


async def test_a_cursor_taken_before_loading_resends_what_the_load_saw(gql, connection):
    head = await _head(gql)  # the recipe: the cursor first,
    issue = (await create_issue(gql, connection, title="in the load"))["issue"]["id"]
    loaded = await gql(  # then the load, which already holds the new issue,
        "query ($id: ID!) { node(id: $id) { ... on Issue { title } } }", {"id": issue}
    )
    assert loaded["data"]["node"] == {"title": "in the load"}

    changes = await _changes(gql, head)  # and the sync sends it again: nothing is missed.
    assert changes["nodes"] == [{"id": issue, "__typename": "Issue", "title": "in the load"}]


async def test_bad_cursors_and_sizes_are_refused_before_any_sql(gql, connection, statements):
    await create_issue(gql, connection, title="logged")
    activity = await gql(
        '{ workspace(slug: "acme") { activity(first: 1) { pageInfo { endCursor } } } }'
    )
    activity_cursor = activity["data"]["workspace"]["activity"]["pageInfo"]["endCursor"]
    for since in ("not a cursor", activity_cursor, ""):
        statements.statements.clear()
        body = await gql(CHANGES, {"since": since})
        error = assert_bad_input(body, "cursor", field="workspace")
        assert error["extensions"]["argument"] == "since"
        assert not any("activity" in s for s in statements.statements), statements.statements
    head = await _head(gql)
    for first, argument in ((501, "first"), (-1, "first")):
        body = await gql(CHANGES, {"since": head, "first": first})
        assert assert_bad_input(body)["extensions"]["argument"] == argument


async def test_another_workspace_s_cursor_is_refused(gql, gql_as):
    theirs = await gql_as(STRANGER)('{ workspace(slug: "globex") { changes { cursor } } }')
    cursor = theirs["data"]["workspace"]["changes"]["cursor"]

    body = await gql(CHANGES, {"since": cursor})

    error = assert_bad_input(body, "another workspace", field="workspace")
    assert error["extensions"]["argument"] == "since"


async def test_a_stranger_gets_nothing_of_another_workspace(gql, gql_as, connection):
    head = await _head(gql)
    await create_issue(gql, connection, title="members only")
    stranger = gql_as(STRANGER)

    body = await stranger(CHANGES, {"since": head})
    assert body == {"data": {"workspace": None}}
    by_id = await stranger(
        "query ($id: ID!, $since: String) { node(id: $id) { ... on Workspace { "
        "changes(since: $since) { nodes { id } } } } }",
        {"id": ACME, "since": head},
    )
    assert by_id == {"data": {"node": None}}


async def test_a_guest_gets_what_a_guest_may_read(gql, gql_as, connection):
    head = await _head(gql)
    invite = {"workspaceId": ACME, "email": "new@sync.dev"}
    invitation = (await _ok(gql, INVITE, {"input": invite}))["invitation"]["id"]
    issue = (await create_issue(gql, connection, title="for everyone"))["issue"]["id"]
    invite = {"workspaceId": ACME, "email": "other@sync.dev"}
    revoked = (await _ok(gql, INVITE, {"input": invite}))["invitation"]["id"]
    await _ok(gql, REVOKE, {"id": revoked})

    guest = await _changes(gql_as(GUEST), head)
    admin = await _changes(gql_as(ADMIN), head)
    owner = await _changes(gql_as(OWNER), head)

    # Invitations (with their emails) are for those who may invite: not even their IDs else.
    assert guest["nodes"] == [{"id": issue, "__typename": "Issue", "title": "for everyone"}]
    assert guest["deletedIds"] == []
    assert owner == admin
    assert [node["id"] for node in admin["nodes"]] == [invitation, issue]
    assert admin["nodes"][0]["email"] == "new@sync.dev"
    assert admin["deletedIds"] == [revoked]
    assert guest["cursor"] == admin["cursor"]


WORKSPACE_CREATE = """mutation { workspaceCreate(input: {slug: "synced", name: "Synced"}) {
    workspace { id } errors { code } } }"""
BOTH = """query ($ids: [ID!]!, $since: String) { nodes(ids: $ids) { id ... on Workspace {
    changes(since: $since) { cursor deletedIds } } } }"""


async def test_workspaces_of_one_level_are_synced_together_each_from_its_own_cursor(
    gql, connection, statements
):
    other = (await _ok(gql, WORKSPACE_CREATE))["workspace"]["id"]
    heads = (await gql(BOTH, {"ids": [ACME, other]}))["data"]["nodes"]
    assert heads[0]["changes"]["cursor"] == await _head(gql)
    assert heads[1]["changes"]["cursor"] != heads[0]["changes"]["cursor"]
    gone = (await create_issue(gql, connection, title="gone"))["issue"]["id"]
    await _ok(gql, ISSUE_DELETE, {"id": gone})

    before = len(statements.statements)
    body = await gql(BOTH, {"ids": [ACME, other], "since": heads[0]["changes"]["cursor"]})

    # Acme's cursor reads acme's stream; the other workspace refuses it, and nothing more.
    assert body["data"]["nodes"][0]["changes"]["deletedIds"] == [gone]
    assert body["data"]["nodes"][1] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "since"}
    activity = [s for s in statements.statements[before:] if "FROM activity" in s]
    assert len(activity) == 1, activity
