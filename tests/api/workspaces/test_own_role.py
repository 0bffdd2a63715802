"""Changing one's own role holds for the rest of the same document: an owner who steps down to
GUEST may not, two mutations later, do what only admins may."""

from __future__ import annotations

from sqlalchemy import text

from tests.support.actors import ADMIN, OWNER
from tests.support.ids import to_global_id

STEP_DOWN = """
mutation ($admin: ID!, $me: ID!, $workspace: ID!) {
  a: memberUpdateRole(input: {membershipId: $admin, role: OWNER}) { errors { code } }
  b: memberUpdateRole(input: {membershipId: $me, role: GUEST}) {
    membership { role } errors { code }
  }
  c: labelCreate(input: {workspaceId: $workspace, name: "made-by-a-guest", color: "#e11d48"}) {
    label { id } errors { code }
  }
}
"""


async def test_stepping_down_to_guest_holds_for_the_rest_of_the_document(make_client, connection):
    acme = await connection.scalar(text("SELECT id FROM workspaces WHERE slug = 'acme'"))
    membership = {
        email: await connection.scalar(
            text(
                "SELECT m.id FROM memberships m JOIN users u ON u.id = m.user_id "
                "WHERE u.email = :email AND m.workspace_id = :workspace"
            ),
            {"email": email, "workspace": acme},
        )
        for email in (OWNER, ADMIN)
    }
    variables = {
        "admin": to_global_id("Membership", membership[ADMIN]),
        "me": to_global_id("Membership", membership[OWNER]),
        "workspace": to_global_id("Workspace", acme),
    }

    async with make_client(OWNER) as client:
        response = await client.post("/graphql", json={"query": STEP_DOWN, "variables": variables})

    body = response.json()
    assert body["data"]["a"] == {"errors": []}
    assert body["data"]["b"] == {"membership": {"role": "GUEST"}, "errors": []}
    assert body["data"]["c"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
    made = await connection.scalar(
        text("SELECT count(*) FROM labels WHERE name = 'made-by-a-guest'")
    )
    assert made == 0
