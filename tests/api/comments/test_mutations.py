"""Comment mutations: who may write, edit and delete; versions; limits; the log."""

from __future__ import annotations

from tests.support.actors import ADMIN, GUEST, MEMBER, STRANGER
from tests.support.factories import create_issue
from tests.support.ids import ids, pk

COMMENT = """mutation ($input: CommentCreateInput!) { commentCreate(input: $input) {
    comment { id body version editedAt author { email } issue { id } } errors { code field } } }"""
EDIT = """mutation ($input: CommentUpdateInput!) { commentUpdate(input: $input) {
    comment { body version editedAt } errors { code field } } }"""
DELETE = """mutation ($id: ID!) { commentDelete(input: {id: $id}) {
    deletedCommentId errors { code } } }"""


async def comment_as(gql, issue: str, body: str = "Looks good") -> dict:
    response = await gql(COMMENT, {"input": {"issueId": issue, "body": body}})
    assert "errors" not in response, response
    return response["data"]["commentCreate"]


async def test_guests_comment_and_strangers_cannot(gql, gql_as, connection):
    issue = (await create_issue(gql, connection))["issue"]["id"]
    payload = await comment_as(gql_as(GUEST), issue)
    assert payload["errors"] == []
    assert payload["comment"]["author"]["email"] == GUEST
    assert payload["comment"]["issue"]["id"] == issue
    refused = await gql_as(STRANGER)(COMMENT, {"input": {"issueId": issue, "body": "hi"}})
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_body_limits(gql, connection):
    issue = (await create_issue(gql, connection))["issue"]["id"]
    for body in ("   ", "x" * (64 * 1024 + 1)):
        payload = await comment_as(gql, issue, body)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", ["body"])]
    assert (await comment_as(gql, issue, "x" * 64 * 1024))["errors"] == []


async def test_only_the_author_edits_with_versions(gql, gql_as, connection):
    issue = (await create_issue(gql, connection))["issue"]["id"]
    comment = (await comment_as(gql_as(MEMBER), issue, "first"))["comment"]
    refused = await gql_as(ADMIN)(EDIT, {"input": {"id": comment["id"], "body": "hijack"}})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    edited = await gql_as(MEMBER)(
        EDIT, {"input": {"id": comment["id"], "body": "second", "expectedVersion": 1}}
    )
    payload = edited["data"]["commentUpdate"]
    assert payload["comment"]["body"] == "second"
    assert payload["comment"]["version"] == 2 and payload["comment"]["editedAt"] is not None
    stale = await gql_as(MEMBER)(
        EDIT, {"input": {"id": comment["id"], "body": "third", "expectedVersion": 1}}
    )
    payload = stale["data"]["commentUpdate"]
    assert [e["code"] for e in payload["errors"]] == ["CONFLICT"]
    assert payload["comment"]["body"] == "second"


async def test_author_or_admin_deletes(gql, gql_as, connection):
    issue = (await create_issue(gql, connection))["issue"]["id"]
    first = (await comment_as(gql_as(MEMBER), issue))["comment"]["id"]
    second = (await comment_as(gql_as(MEMBER), issue))["comment"]["id"]
    refused = await gql_as(GUEST)(DELETE, {"id": first})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_author = await gql_as(MEMBER)(DELETE, {"id": first})
    assert by_author["data"]["commentDelete"]["deletedCommentId"] == first
    by_admin = await gql_as(ADMIN)(DELETE, {"id": second})
    assert by_admin["data"]["commentDelete"]["deletedCommentId"] == second
    actions = await ids(
        connection,
        "SELECT action FROM activity WHERE subject_type = 'Comment' AND issue_id = :i ORDER BY id",
        i=pk(issue),
    )
    assert actions == ["CREATED", "CREATED", "DELETED", "DELETED"]
