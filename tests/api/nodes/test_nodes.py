"""`node(id:)`, `nodes(ids:)` and `workspace.issue(identifier:)`: global IDs, and that an object
the viewer may not read is indistinguishable from one that does not exist."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.actors import ADMIN, GUEST, MEMBER, NOBODY, OWNER, STRANGER
from tests.support.ids import raw_global_id

# One object of every Node type in acme, with the field the `node` query reads back.
ACME_OBJECTS = """
{
  workspace(slug: "acme") {
    id slug
    members(first: 100) { nodes { id role user { id email } } }
    projects(first: 1) { nodes { id key } }
    labels(first: 1) { nodes { id name } }
    workflowStates(first: 1) { nodes { id name } }
    issues(first: 100) { nodes {
      id identifier
      labels(first: 5) { nodes { id name } }
      comments(first: 1) { nodes { id body } }
    } }
  }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on User { email }
    ... on Workspace { slug }
    ... on Membership { role }
    ... on Project { key }
    ... on WorkflowState { name }
    ... on Label { name }
    ... on Issue { identifier }
    ... on Comment { body }
  }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) { __typename id ... on Issue { identifier } ... on Project { key } }
}
"""


async def acme_objects(gql) -> dict[str, dict[str, Any]]:
    """An acme object of every Node type, as the OWNER sees it, keyed by type name."""
    body = await gql(ACME_OBJECTS)
    assert "errors" not in body, body["errors"]
    workspace = body["data"]["workspace"]
    max_membership = next(m for m in workspace["members"]["nodes"] if m["user"]["email"] == MEMBER)
    issue = next(i for i in workspace["issues"]["nodes"] if i["comments"]["nodes"])
    return {
        "Workspace": {"id": workspace["id"], "slug": workspace["slug"]},
        "User": max_membership["user"],
        "Membership": {"id": max_membership["id"], "role": max_membership["role"]},
        "Project": workspace["projects"]["nodes"][0],
        "WorkflowState": workspace["workflowStates"]["nodes"][0],
        "Label": workspace["labels"]["nodes"][0],
        "Issue": {"id": issue["id"], "identifier": issue["identifier"]},
        "Comment": issue["comments"]["nodes"][0],
    }


async def test_ids_are_opaque_and_distinct_per_type(gql):
    objects = await acme_objects(gql)

    ids = [obj["id"] for obj in objects.values()]
    assert len(set(ids)) == len(ids)
    for type_name, obj in objects.items():
        assert base64.urlsafe_b64decode(obj["id"] + "==").decode().startswith(f"{type_name}:")


@pytest.mark.parametrize(
    "type_name",
    ["User", "Workspace", "Membership", "Project", "WorkflowState", "Label", "Issue", "Comment"],
)
async def test_node_returns_the_object_of_every_type(gql, type_name):
    expected = (await acme_objects(gql))[type_name]

    body = await gql(NODE, {"id": expected["id"]})

    assert "errors" not in body, body["errors"]
    assert body["data"]["node"] == {"__typename": type_name, **expected}


async def test_nodes_returns_objects_in_order_with_null_for_unknown_ids(gql):
    objects = await acme_objects(gql)
    issue, project = objects["Issue"], objects["Project"]
    ids = [project["id"], raw_global_id("Issue:99999999"), issue["id"], "nope", project["id"]]

    body = await gql(NODES, {"ids": ids})

    assert "errors" not in body, body["errors"]
    assert body["data"]["nodes"] == [
        {"__typename": "Project", **project},
        None,
        {"__typename": "Issue", **issue},
        None,
        {"__typename": "Project", **project},
    ]


async def test_nodes_of_every_type_batch_into_one_statement_per_type(gql, statements):
    objects = await acme_objects(gql)
    statements.statements.clear()

    body = await gql(NODES, {"ids": [obj["id"] for obj in objects.values()] * 2})

    assert "errors" not in body, body["errors"]
    assert [n["id"] for n in body["data"]["nodes"]] == [o["id"] for o in objects.values()] * 2
    # The viewer, then one statement per type (8), however many IDs of each.
    assert statements.count == 9, statements.statements


async def test_nodes_accepts_100_ids(gql):
    issue = (await acme_objects(gql))["Issue"]

    body = await gql(NODES, {"ids": [issue["id"]] * 100})

    assert "errors" not in body, body["errors"]
    assert len(body["data"]["nodes"]) == 100


async def test_nodes_refuses_more_than_100_ids(gql):
    body = await gql(NODES, {"ids": [raw_global_id(f"Issue:{n}") for n in range(1, 102)]})

    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["limit"] == 100
    assert "100" in error["message"]
    assert error["path"] == ["nodes"]


@pytest.mark.parametrize(
    "node_id",
    [
        "nope",
        "",
        "!!!!",
        raw_global_id("Issue:abc"),
        raw_global_id("Issue:0"),
        raw_global_id("Issue:-1"),
        raw_global_id("Issue:01"),
        raw_global_id("Issue: 1"),
        raw_global_id("Issue:1.0"),
        raw_global_id("Issue"),
        raw_global_id(":1"),
        raw_global_id("Spaceship:1"),
        raw_global_id("issue:1"),
        raw_global_id("Node:1"),
        raw_global_id("Issue:99999999"),
        base64.urlsafe_b64encode(b"\xff\xfe:1").decode(),
    ],
    ids=[
        "word",
        "empty",
        "not-base64",
        "non-numeric",
        "zero",
        "negative",
        "leading-zero",
        "space",
        "decimal",
        "no-pk",
        "no-type",
        "unknown-type",
        "lowercase-type",
        "interface",
        "missing",
        "not-utf8",
    ],
)
async def test_a_malformed_or_unknown_id_is_null_without_errors(gql, node_id):
    body = await gql(NODE, {"id": node_id})

    assert body == {"data": {"node": None}}


@pytest.mark.parametrize("pk", [2**31, 2**63, 10**30])
async def test_an_id_beyond_the_key_range_is_null_without_errors(gql, pk):
    body = await gql(NODE, {"id": raw_global_id(f"Issue:{pk}")})

    assert body == {"data": {"node": None}}


async def test_an_out_of_range_id_does_not_break_its_batch(gql):
    issue = (await acme_objects(gql))["Issue"]

    body = await gql(NODES, {"ids": [issue["id"], raw_global_id(f"Issue:{2**63}")]})

    assert body == {"data": {"nodes": [{"__typename": "Issue", **issue}, None]}}


@pytest.mark.parametrize(
    "type_name",
    ["Workspace", "Membership", "Project", "WorkflowState", "Label", "Issue", "Comment", "User"],
)
async def test_a_stranger_sees_acme_objects_as_missing(gql, gql_as, type_name):
    target = (await acme_objects(gql))[type_name]
    stranger = gql_as(STRANGER)

    hidden = await stranger(NODE, {"id": target["id"]})
    missing = await stranger(NODE, {"id": raw_global_id(f"{type_name}:99999999")})

    assert hidden == {"data": {"node": None}}
    assert hidden == missing


async def test_nodes_hides_acme_objects_from_a_stranger(gql, gql_as):
    objects = await acme_objects(gql)

    body = await gql_as(STRANGER)(NODES, {"ids": [obj["id"] for obj in objects.values()]})

    assert body == {"data": {"nodes": [None] * len(objects)}}


async def test_a_stranger_cannot_find_acme_by_slug(gql_as):
    stranger = gql_as(STRANGER)

    body = await stranger(
        '{ acme: workspace(slug: "acme") { id } own: workspace(slug: "globex") { slug } }'
    )

    assert "errors" not in body, body["errors"]
    assert body["data"] == {"acme": None, "own": {"slug": "globex"}}


async def test_anonymous_sees_no_viewer_and_no_node(gql, gql_as):
    objects = await acme_objects(gql)
    anonymous = gql_as(NOBODY)

    body = await anonymous('{ viewer { id } workspace(slug: "acme") { id } }')
    assert body == {"data": {"viewer": None, "workspace": None}}

    body = await anonymous(NODES, {"ids": [obj["id"] for obj in objects.values()]})
    assert body == {"data": {"nodes": [None] * len(objects)}}
    for obj in objects.values():
        assert await anonymous(NODE, {"id": obj["id"]}) == {"data": {"node": None}}


async def test_users_are_visible_only_when_sharing_a_workspace(gql, gql_as):
    body = await gql("{ viewer { id email } }")
    owner = body["data"]["viewer"]
    only_in_acme = (await acme_objects(gql))["User"]
    stranger = gql_as(STRANGER)

    body = await stranger(NODES, {"ids": [only_in_acme["id"], owner["id"]]})
    assert body["data"]["nodes"][0] is None
    assert body["data"]["nodes"][1] == {"__typename": "User", "id": owner["id"]}

    body = await stranger(NODE, {"id": owner["id"]})
    assert body["data"]["node"] == {"__typename": "User", **owner}


async def test_a_viewer_can_read_their_own_user_node(gql_as):
    stranger = gql_as(STRANGER)
    me = (await stranger("{ viewer { id email } }"))["data"]["viewer"]

    body = await stranger(NODE, {"id": me["id"]})

    assert body["data"]["node"] == {"__typename": "User", **me}


@pytest.mark.parametrize("viewer", [OWNER, ADMIN, MEMBER, GUEST])
async def test_every_acme_role_reads_acme_nodes(gql, gql_as, viewer):
    objects = await acme_objects(gql)

    body = await gql_as(viewer)(NODES, {"ids": [obj["id"] for obj in objects.values()]})

    assert "errors" not in body, body["errors"]
    assert [n["id"] for n in body["data"]["nodes"]] == [o["id"] for o in objects.values()]


NESTED = """
query Nested($id: ID!) {
  node(id: $id) {
    ... on Issue {
      identifier
      comments(first: 50) { totalCount nodes { id } }
      labels(first: 50) { totalCount nodes { id } }
      project { key }
      workspace { slug }
    }
  }
}
"""


async def test_nested_fields_work_through_node(gql):
    body = await gql(ACME_OBJECTS)
    issues = body["data"]["workspace"]["issues"]["nodes"]
    issue = next(i for i in issues if i["comments"]["nodes"] and i["labels"]["nodes"])

    body = await gql(NESTED, {"id": issue["id"]})

    assert "errors" not in body, body["errors"]
    node = body["data"]["node"]
    assert node["identifier"] == issue["identifier"]
    assert node["workspace"] == {"slug": "acme"}
    assert node["project"]["key"] == issue["identifier"].split("-")[0]
    assert node["comments"]["totalCount"] >= 1
    assert node["comments"]["nodes"][0] == {"id": issue["comments"]["nodes"][0]["id"]}
    assert {label["id"] for label in issue["labels"]["nodes"]} <= {
        label["id"] for label in node["labels"]["nodes"]
    }


async def test_a_stranger_reads_comments_and_labels_of_their_own_issues(gql_as):
    stranger = gql_as(STRANGER)
    body = await stranger(
        """
        { workspace(slug: "globex") { issues(first: 100) { totalCount nodes {
            id identifier
            comments(first: 50) { totalCount nodes { id issue { id } } }
            labels(first: 50) { totalCount nodes { id workspace { slug } } }
        } } } }
        """
    )

    assert "errors" not in body, body["errors"]
    issues = body["data"]["workspace"]["issues"]
    assert issues["totalCount"] == 10
    assert all(i["identifier"].startswith("GLX-") for i in issues["nodes"])
    for issue in issues["nodes"]:
        assert len(issue["comments"]["nodes"]) == issue["comments"]["totalCount"]
        assert all(c["issue"]["id"] == issue["id"] for c in issue["comments"]["nodes"])
        assert all(lb["workspace"]["slug"] == "globex" for lb in issue["labels"]["nodes"])
    with_comments = [i for i in issues["nodes"] if i["comments"]["nodes"]]
    if with_comments:
        body = await stranger(NESTED, {"id": with_comments[0]["id"]})
        assert "errors" not in body, body["errors"]
        node = body["data"]["node"]
        assert node["comments"]["totalCount"] == with_comments[0]["comments"]["totalCount"]
        assert node["workspace"] == {"slug": "globex"}


ISSUE_BY_IDENTIFIER = """
query IssueByIdentifier($identifier: String!) {
  workspace(slug: "acme") { issue(identifier: $identifier) { id identifier number } }
}
"""


@pytest.mark.parametrize("identifier", ["ENG-1", "eng-1", "Eng-1", " ENG-1 "])
async def test_workspace_issue_finds_an_issue_by_identifier(gql, identifier):
    body = await gql(ISSUE_BY_IDENTIFIER, {"identifier": identifier})

    assert "errors" not in body, body["errors"]
    issue = body["data"]["workspace"]["issue"]
    assert issue["identifier"] == "ENG-1"
    assert issue["number"] == 1


async def test_workspace_issue_matches_node(gql):
    body = await gql(ISSUE_BY_IDENTIFIER, {"identifier": "ENG-1"})
    issue = body["data"]["workspace"]["issue"]

    body = await gql(NODE, {"id": issue["id"]})

    assert body["data"]["node"] == {"__typename": "Issue", "id": issue["id"], "identifier": "ENG-1"}


@pytest.mark.parametrize(
    "identifier",
    [
        "ENG-999999",
        "XYZ-1",
        "GLX-1",
        "ENG-9999999999",
    ],
)
async def test_workspace_issue_is_null_for_no_such_issue(gql, identifier):
    body = await gql(ISSUE_BY_IDENTIFIER, {"identifier": identifier})

    assert body == {"data": {"workspace": {"issue": None}}}


@pytest.mark.parametrize("identifier", ["not an id", "", "ENG", "ENG-0", "ENG-01", "-1", "ENG-1-2"])
async def test_workspace_issue_refuses_a_malformed_identifier(gql, identifier):
    body = await gql(ISSUE_BY_IDENTIFIER, {"identifier": identifier})

    assert body["data"] == {"workspace": {"issue": None}}
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["workspace", "issue"]
