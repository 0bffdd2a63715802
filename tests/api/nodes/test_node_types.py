"""Every `Node` type resolves through `node(id:)`, found by the schema's type name, and each
answers only what its read policy lets the viewer see."""

from __future__ import annotations

from graphql import GraphQLInterfaceType, GraphQLObjectType

from db.loaders import Loaders
from db.queries import ReadScope
from schema.build import build_schema
from schema.node import Node, node_type
from tests.support.actors import ADMIN, GUEST, MEMBER, OWNER, STRANGER

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on ApiToken { name }
    ... on Invitation { email role }
  }
}
"""
TOKEN_CREATE = """
mutation {
  apiTokenCreate(input: {name: "ci", scope: READ}) { apiToken { id name } errors { code } }
}
"""
WORKSPACE_ID = """
query { workspace(slug: "acme") { id } }
"""
MEMBER_INVITE = """
mutation ($id: ID!) {
  memberInvite(input: {workspaceId: $id, email: "newcomer@example.com", role: MEMBER}) {
    invitation { id email } errors { code }
  }
}
"""


async def test_every_node_type_of_the_schema_is_found_by_its_name_and_has_a_loader():
    schema = build_schema()._schema
    node = schema.type_map["Node"]
    assert isinstance(node, GraphQLInterfaceType)
    implementations = {
        name
        for name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and node in graphql_type.interfaces
    }
    assert {"ApiToken", "Invitation", "Issue", "User"} <= implementations
    loaders = Loaders(None, ReadScope(workspace_ids=[], viewer_id=None))  # type: ignore[arg-type]
    for name in implementations:
        cls = node_type(name)
        assert cls is not None and issubclass(cls, Node), name
        # Overridden: the interface's own would raise NotImplementedError.
        assert cls.loader(loaders) is not None, name
    assert node_type("Node") is None
    assert node_type("IssueConnection") is None


async def test_an_api_token_is_a_node_of_its_owner_only(gql_as):
    created = (await gql_as(MEMBER)(TOKEN_CREATE))["data"]["apiTokenCreate"]
    assert created["errors"] == []
    token = created["apiToken"]

    mine = await gql_as(MEMBER)(NODE, {"id": token["id"]})
    assert mine == {"data": {"node": {"__typename": "ApiToken", "id": token["id"], "name": "ci"}}}
    for other in (OWNER, ADMIN, STRANGER):
        assert (await gql_as(other)(NODE, {"id": token["id"]})) == {"data": {"node": None}}


async def test_an_invitation_is_a_node_of_those_who_may_invite(gql_as):
    owner = gql_as(OWNER)
    workspace_id = (await owner(WORKSPACE_ID))["data"]["workspace"]["id"]
    invited = (await owner(MEMBER_INVITE, {"id": workspace_id}))["data"]["memberInvite"]
    assert invited["errors"] == []
    invitation_id = invited["invitation"]["id"]

    for manager in (OWNER, ADMIN):
        seen = await gql_as(manager)(NODE, {"id": invitation_id})
        assert seen["data"]["node"] == {
            "__typename": "Invitation",
            "id": invitation_id,
            "email": "newcomer@example.com",
            "role": "MEMBER",
        }
    # Members and guests read the workspace but not who was invited; strangers nothing at all.
    for viewer in (MEMBER, GUEST, STRANGER):
        assert (await gql_as(viewer)(NODE, {"id": invitation_id})) == {"data": {"node": None}}
