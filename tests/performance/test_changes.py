"""Delta sync (`workspace.changes`) in SQL statements: one for the entries read and one batch per
type of object changed, whatever `first` is."""

from __future__ import annotations

import pytest

from tests.support.factories import ISSUE_UPDATE, create_comment, create_issue, create_label

CHANGES = """query ($since: String, $first: Int) { workspace(slug: "acme") {
    changes(since: $since, first: $first) {
        nodes { id ... on Issue { title } ... on Comment { body } ... on Label { name } }
        deletedIds cursor hasMore } } }"""
HEAD = '{ workspace(slug: "acme") { changes { cursor } } }'


@pytest.mark.parametrize("first", [3, 100])
async def test_changes_statement_count_is_constant_in_first(gql, connection, statements, first):
    head = (await gql(HEAD))["data"]["workspace"]["changes"]["cursor"]
    # The first three entries already change a label, an issue and a comment; the 60 after
    # them, more of each: 21 labels, 1 issue and 21 comments in all.
    await create_label(gql, "counted-0")
    issue = (await create_issue(gql, connection, title="counted"))["issue"]["id"]
    await create_comment(gql, issue, "counted")
    for round in range(1, 21):
        await create_label(gql, f"counted-{round}")
        await gql(ISSUE_UPDATE, {"input": {"id": issue, "title": f"counted {round}"}})
        await create_comment(gql, issue, f"counted {round}")

    before = len(statements.statements)
    body = await gql(CHANGES, {"since": head, "first": first})

    changes = body["data"]["workspace"]["changes"]
    assert len(changes["nodes"]) == (3 if first == 3 else 43)
    assert changes["hasMore"] is (first == 3)
    # Viewer, workspace, the entries, then labels, issues and comments: one batch each.
    assert len(statements.statements) - before == 6, statements.statements[before:]


async def test_the_head_is_one_statement(gql, statements):
    before = len(statements.statements)
    await gql(HEAD)
    # Viewer, workspace, its last entry.
    assert len(statements.statements) - before == 3, statements.statements[before:]
