"""Workspaces, invitations and memberships: who may do what, and the one-OWNER invariant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.support.actors import ADMIN, GUEST, MEMBER, OWNER, STRANGER
from tests.support.factories import ACME, ACME_PK
from tests.support.ids import to_global_id


async def membership_of(connection, email: str, workspace_id: int = ACME_PK) -> str:
    pk = await connection.scalar(
        text(
            "SELECT m.id FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE u.email = :e AND m.workspace_id = :w"
        ),
        {"e": email, "w": workspace_id},
    )
    return to_global_id("Membership", pk)


def payload(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"][field]


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


CREATE = """mutation ($slug: String!, $name: String!) {
  workspaceCreate(input: {slug: $slug, name: $name}) {
    workspace { slug name viewerRole workflowStates { nodes { name type } } }
    errors { code field } } }"""


async def test_the_creator_owns_a_new_workspace_with_a_board(gql_as):
    created = payload(
        await gql_as(MEMBER)(CREATE, {"slug": "newco", "name": "New Co"}), "workspaceCreate"
    )

    workspace = created["workspace"]
    assert workspace["viewerRole"] == "OWNER"
    assert [s["type"] for s in workspace["workflowStates"]["nodes"]] == [
        "BACKLOG",
        "UNSTARTED",
        "STARTED",
        "COMPLETED",
        "CANCELED",
    ]
    again = payload(
        await gql_as(OWNER)(CREATE, {"slug": "newco", "name": "Other"}), "workspaceCreate"
    )
    assert again["errors"] == [{"code": "SLUG_TAKEN", "field": ["slug"]}]
    bad = payload(await gql_as(OWNER)(CREATE, {"slug": "-Bad", "name": " "}), "workspaceCreate")
    assert {e["field"][0] for e in bad["errors"]} == {"slug", "name"}


UPDATE = """mutation ($id: ID!, $name: String, $slug: String) {
  workspaceUpdate(input: {id: $id, name: $name, slug: $slug}) {
    workspace { slug name } errors { code } } }"""


async def test_admins_rename_and_only_owners_change_the_slug(gql_as):
    renamed = payload(
        await gql_as(ADMIN)(UPDATE, {"id": ACME, "name": "Acme Inc"}), "workspaceUpdate"
    )
    assert renamed["workspace"] == {"slug": "acme", "name": "Acme Inc"}

    refused = await gql_as(ADMIN)(UPDATE, {"id": ACME, "slug": "acme2"})
    assert code_of(refused) == "FORBIDDEN"
    moved = payload(await gql_as(OWNER)(UPDATE, {"id": ACME, "slug": "acme2"}), "workspaceUpdate")
    assert moved["workspace"]["slug"] == "acme2"
    taken = payload(await gql_as(OWNER)(UPDATE, {"id": ACME, "slug": "globex"}), "workspaceUpdate")
    assert taken["errors"] == [{"code": "SLUG_TAKEN"}]


async def test_a_stranger_cannot_tell_a_workspace_exists(gql_as):
    for workspace in (ACME, to_global_id("Workspace", 999)):
        body = await gql_as(STRANGER)(UPDATE, {"id": workspace, "name": "mine"})
        assert code_of(body) == "NOT_FOUND"
        assert body["errors"][0]["message"] == "Workspace not found."


INVITE = """mutation ($id: ID!, $email: String!, $role: Role!) {
  memberInvite(input: {workspaceId: $id, email: $email, role: $role}) {
    invitation { email role expiresAt } token errors { code } } }"""
ACCEPT = """mutation ($token: String!) { invitationAccept(input: {token: $token}) {
  membership { role workspace { slug viewerRole } } errors { code } } }"""
SIGN_UP = """mutation ($email: String!) { signUp(input: {email: $email,
  password: "long enough password", name: "Invitee"}) { errors { code } } }"""


async def test_an_invitation_is_accepted_by_its_email_once(gql_as):
    invited = payload(
        await gql_as(ADMIN)(INVITE, {"id": ACME, "email": "Invitee@Example.com", "role": "MEMBER"}),
        "memberInvite",
    )
    assert invited["token"].startswith("bli_")
    assert (
        payload(await gql_as(OWNER)(SIGN_UP, {"email": "invitee@example.com"}), "signUp")["errors"]
        == []
    )

    wrong_person = payload(
        await gql_as(GUEST)(ACCEPT, {"token": invited["token"]}), "invitationAccept"
    )
    assert wrong_person["errors"] == [{"code": "NOT_FOUND"}]
    joined = payload(
        await gql_as("invitee@example.com")(ACCEPT, {"token": invited["token"]}), "invitationAccept"
    )
    assert joined["membership"] == {
        "role": "MEMBER",
        "workspace": {"slug": "acme", "viewerRole": "MEMBER"},
    }
    replay = payload(
        await gql_as("invitee@example.com")(ACCEPT, {"token": invited["token"]}), "invitationAccept"
    )
    assert replay["errors"] == [{"code": "NOT_FOUND"}]


async def test_invitations_respect_roles(gql_as):
    assert code_of(
        await gql_as(MEMBER)(INVITE, {"id": ACME, "email": "a@b.co", "role": "GUEST"})
    ) == ("FORBIDDEN")
    assert code_of(
        await gql_as(ADMIN)(INVITE, {"id": ACME, "email": "a@b.co", "role": "OWNER"})
    ) == ("FORBIDDEN")
    existing = payload(
        await gql_as(OWNER)(INVITE, {"id": ACME, "email": MEMBER.upper(), "role": "ADMIN"}),
        "memberInvite",
    )
    assert existing["errors"] == [{"code": "ALREADY_MEMBER"}]


ROLE = """mutation ($id: ID!, $role: Role!) {
  memberUpdateRole(input: {membershipId: $id, role: $role}) {
    membership { role } errors { code } } }"""
REMOVE = """mutation ($id: ID!) { memberRemove(input: {membershipId: $id}) {
  removedMembershipId errors { code } } }"""
LEAVE = (
    f"""mutation {{ workspaceLeave(input: {{workspaceId: "{ACME}"}}) {{ errors {{ code }} }} }}"""
)


async def test_admins_manage_members_but_not_owners(gql_as, connection):
    member = await membership_of(connection, MEMBER)
    owner = await membership_of(connection, OWNER)

    promoted = payload(
        await gql_as(ADMIN)(ROLE, {"id": member, "role": "ADMIN"}), "memberUpdateRole"
    )
    assert promoted["membership"] == {"role": "ADMIN"}
    assert code_of(await gql_as(ADMIN)(ROLE, {"id": owner, "role": "MEMBER"})) == "FORBIDDEN"
    assert code_of(await gql_as(ADMIN)(ROLE, {"id": member, "role": "OWNER"})) == "FORBIDDEN"
    assert code_of(await gql_as(ADMIN)(REMOVE, {"id": owner})) == "FORBIDDEN"
    assert code_of(await gql_as(GUEST)(REMOVE, {"id": member})) == "FORBIDDEN"


async def test_a_workspace_always_keeps_an_owner(gql_as, connection):
    owner = await membership_of(connection, OWNER)
    admin = await membership_of(connection, ADMIN)

    alone = payload(await gql_as(OWNER)(ROLE, {"id": owner, "role": "ADMIN"}), "memberUpdateRole")
    assert alone["errors"] == [{"code": "LAST_OWNER"}]
    assert payload(await gql_as(OWNER)(LEAVE), "workspaceLeave")["errors"] == [
        {"code": "LAST_OWNER"}
    ]
    assert payload(await gql_as(OWNER)(REMOVE, {"id": owner}), "memberRemove")["errors"] == [
        {"code": "LAST_OWNER"}
    ]

    payload(await gql_as(OWNER)(ROLE, {"id": admin, "role": "OWNER"}), "memberUpdateRole")
    stepped_down = payload(
        await gql_as(OWNER)(ROLE, {"id": owner, "role": "ADMIN"}), "memberUpdateRole"
    )
    assert stepped_down["membership"] == {"role": "ADMIN"}
    owners = await connection.scalar(
        text(f"SELECT count(*) FROM memberships WHERE workspace_id = {ACME_PK} AND role = 'OWNER'")
    )
    assert owners == 1


async def test_removed_and_departed_members_lose_the_workspace(gql_as, connection):
    guest = await membership_of(connection, GUEST)

    removed = payload(await gql_as(ADMIN)(REMOVE, {"id": guest}), "memberRemove")
    assert removed["removedMembershipId"] == guest
    assert (await gql_as(GUEST)('{ workspace(slug: "acme") { slug } }'))["data"][
        "workspace"
    ] is None

    assert payload(await gql_as(MEMBER)(LEAVE), "workspaceLeave")["errors"] == []
    assert (await gql_as(MEMBER)('{ workspace(slug: "acme") { slug } }'))["data"][
        "workspace"
    ] is None


async def test_membership_ids_of_other_workspaces_are_not_found_and_change_nothing(
    gql_as, connection
):
    acme_member = await membership_of(connection, MEMBER)
    before = await connection.scalar(text("SELECT count(*) FROM memberships"))

    for mutation, variables in (
        (ROLE, {"id": acme_member, "role": "GUEST"}),
        (REMOVE, {"id": acme_member}),
    ):
        body = await gql_as(STRANGER)(mutation, variables)
        assert code_of(body) == "NOT_FOUND"
        assert body["errors"][0]["message"] == "Membership not found."
    assert await connection.scalar(text("SELECT count(*) FROM memberships")) == before
    role = await connection.scalar(
        text(
            "SELECT role FROM memberships m JOIN users u ON u.id = m.user_id "
            f"WHERE u.email = :e AND m.workspace_id = {ACME_PK}"
        ),
        {"e": MEMBER},
    )
    assert role == "MEMBER"


DELETE = """mutation ($id: ID!) { workspaceDelete(input: {id: $id}) { deletedWorkspaceId } }"""


async def test_only_an_owner_deletes_a_workspace_and_everything_in_it_goes(gql_as, connection):
    assert code_of(await gql_as(ADMIN)(DELETE, {"id": ACME})) == "FORBIDDEN"
    assert code_of(await gql_as(STRANGER)(DELETE, {"id": ACME})) == "NOT_FOUND"

    deleted = payload(await gql_as(OWNER)(DELETE, {"id": ACME}), "workspaceDelete")
    assert deleted == {"deletedWorkspaceId": ACME}
    for table in ("issues", "comments", "projects", "memberships", "labels"):
        left = await connection.scalar(
            text(f"SELECT count(*) FROM {table} WHERE workspace_id = :w"), {"w": ACME_PK}
        )
        assert left == 0, table
    assert (await gql_as(OWNER)('{ workspace(slug: "acme") { slug } }'))["data"][
        "workspace"
    ] is None


async def test_an_invitation_from_a_removed_inviter_is_void(gql_as, connection):
    invited = payload(
        await gql_as(ADMIN)(INVITE, {"id": ACME, "email": "late@example.com", "role": "ADMIN"}),
        "memberInvite",
    )
    payload(
        await gql_as(OWNER)(REMOVE, {"id": await membership_of(connection, ADMIN)}), "memberRemove"
    )
    payload(await gql_as(OWNER)(SIGN_UP, {"email": "late@example.com"}), "signUp")

    accepted = payload(
        await gql_as("late@example.com")(ACCEPT, {"token": invited["token"]}), "invitationAccept"
    )
    assert accepted["errors"] == [{"code": "NOT_FOUND"}]


PENDING = '{ workspace(slug: "acme") { invitations { email role } } }'
REVOKE_INVITATION = """mutation ($id: ID!) { invitationRevoke(input: {id: $id}) {
  revokedInvitationId } }"""


async def test_pending_invitations_are_listed_for_inviters_and_can_be_revoked(gql_as):
    invited = payload(
        await gql_as(ADMIN)(INVITE, {"id": ACME, "email": "pending@example.com", "role": "GUEST"}),
        "memberInvite",
    )
    listed = (await gql_as(ADMIN)(PENDING))["data"]["workspace"]["invitations"]
    assert {"email": "pending@example.com", "role": "GUEST"} in listed
    assert (await gql_as(MEMBER)(PENDING))["data"]["workspace"]["invitations"] is None

    invitation_id = (
        await gql_as(ADMIN)('{ workspace(slug: "acme") { invitations { id email } } }')
    )["data"]["workspace"]["invitations"][0]["id"]
    assert code_of(await gql_as(MEMBER)(REVOKE_INVITATION, {"id": invitation_id})) == "FORBIDDEN"
    assert code_of(await gql_as(STRANGER)(REVOKE_INVITATION, {"id": invitation_id})) == "NOT_FOUND"
    revoked = payload(
        await gql_as(ADMIN)(REVOKE_INVITATION, {"id": invitation_id}), "invitationRevoke"
    )
    assert revoked == {"revokedInvitationId": invitation_id}

    payload(await gql_as(OWNER)(SIGN_UP, {"email": "pending@example.com"}), "signUp")
    accepted = payload(
        await gql_as("pending@example.com")(ACCEPT, {"token": invited["token"]}), "invitationAccept"
    )
    assert accepted["errors"] == [{"code": "NOT_FOUND"}]


async def test_administration_is_in_the_activity_log(gql_as, connection):
    member = await membership_of(connection, MEMBER)
    rename = """mutation ($id: ID!) { workspaceUpdate(input: {id: $id, name: "Acme Corp"}) {
        errors { code } } }"""
    assert payload(await gql_as(ADMIN)(rename, {"id": ACME}), "workspaceUpdate")["errors"] == []
    payload(await gql_as(ADMIN)(ROLE, {"id": member, "role": "ADMIN"}), "memberUpdateRole")
    payload(await gql_as(ADMIN)(REMOVE, {"id": member}), "memberRemove")
    log = """{ workspace(slug: "acme") { activity(last: 3) { nodes {
        subjectType action field fromValue toValue actor { email } subject { id } } } } }"""
    entries = payload(await gql_as(GUEST)(log), "workspace")["activity"]["nodes"]
    assert [
        (e["subjectType"], e["action"], e["field"], e["fromValue"], e["toValue"]) for e in entries
    ] == [
        ("Workspace", "UPDATED", "name", "Acme Inc.", "Acme Corp"),
        ("Membership", "UPDATED", "role", "MEMBER", "ADMIN"),
        ("Membership", "DELETED", "role", "ADMIN", None),
    ]
    assert {e["actor"]["email"] for e in entries} == {ADMIN}
    assert entries[0]["subject"] == {"id": ACME}
    assert entries[2]["subject"] is None  # the membership is gone


async def test_a_refused_accept_leaves_its_invitation_pending_whatever_commits_after_it(
    gql_as, connection
):
    tokens = []
    for role in ("MEMBER", "GUEST"):
        invite = {"id": ACME, "email": "twice@example.com", "role": role}
        tokens.append(payload(await gql_as(ADMIN)(INVITE, invite), "memberInvite")["token"])
    first, second = tokens
    payload(await gql_as(OWNER)(SIGN_UP, {"email": "twice@example.com"}), "signUp")
    invitee = gql_as("twice@example.com")
    payload(await invitee(ACCEPT, {"token": first}), "invitationAccept")
    document = """mutation ($token: String!) {
        accept: invitationAccept(input: {token: $token}) { errors { code } }
        create: workspaceCreate(input: {slug: "after-accept", name: "Later"}) { errors { code } }
    }"""
    body = await invitee(document, {"token": second})
    assert body["data"]["accept"]["errors"] == [{"code": "ALREADY_MEMBER"}]
    assert body["data"]["create"]["errors"] == []  # a commit after the refused accept
    accepted = await connection.scalar(
        text(
            "SELECT accepted_at FROM invitations "
            "WHERE email = 'twice@example.com' AND role = 'GUEST'"
        )
    )
    assert accepted is None
