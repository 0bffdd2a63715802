"""Who is told of what: assignments, mentions, state changes and comments, never the actor,
one notification per user and issue per mutation, members only, subscriptions made as people
act, and preferences (no row when in-app is off; an email with List-Unsubscribe when on)."""

from __future__ import annotations

from sqlalchemy import text

from tests.support.actors import ADMIN, GUEST, MEMBER, OWNER, STRANGER
from tests.support.factories import create_issue
from tests.support.ids import pk, to_global_id
from tests.support.inbox import (
    COMMENT_CREATE,
    COMMENT_UPDATE,
    ISSUE_UPDATE,
    PREFERENCE_UPDATE,
    emails_to,
    notified,
    ok,
    subscribers,
    user_pk,
)


async def user_id(connection, email: str) -> str:
    return to_global_id("User", await user_pk(connection, email))


async def test_the_new_assignee_is_told_and_nobody_for_assigning_oneself(gql_as, connection):
    owner = gql_as(OWNER)
    issue = (await create_issue(owner, connection, assigneeId=await user_id(connection, MEMBER)))[
        "issue"
    ]["id"]
    assert await notified(connection, issue) == [(MEMBER, "ASSIGNED", False)]
    await ok(owner, ISSUE_UPDATE, {"id": issue, "assigneeId": await user_id(connection, ADMIN)})
    await ok(owner, ISSUE_UPDATE, {"id": issue, "assigneeId": await user_id(connection, OWNER)})
    await ok(owner, ISSUE_UPDATE, {"id": issue, "assigneeId": None})
    assert await notified(connection, issue) == [
        (MEMBER, "ASSIGNED", False),
        (ADMIN, "ASSIGNED", False),
    ]
    mine = (await create_issue(owner, connection, assigneeId=await user_id(connection, OWNER)))[
        "issue"
    ]["id"]
    assert await notified(connection, mine) == []


async def test_mentions_in_descriptions_tell_members_once_and_never_oneself(gql_as, connection):
    owner = gql_as(OWNER)
    issue = (
        await create_issue(
            owner,
            connection,
            # Case does not matter; an address in the text and a non-member mention nobody.
            description="@MAX please look, cc @demo, @olga and bob@ada.dev.",
        )
    )["issue"]["id"]
    assert await notified(connection, issue) == [(MEMBER, "MENTIONED", False)]
    # Only the mentions the edit adds: max again is no news, ada is.
    await ok(owner, ISSUE_UPDATE, {"id": issue, "description": "@max and @ada."})
    assert await notified(connection, issue) == [
        (MEMBER, "MENTIONED", False),
        (ADMIN, "MENTIONED", False),
    ]


async def test_mentions_in_comments_and_only_new_ones_on_edit(gql_as, connection):
    issue = (await create_issue(gql_as(OWNER), connection))["issue"]["id"]
    member = gql_as(MEMBER)
    comment = (await ok(member, COMMENT_CREATE, {"issueId": issue, "body": "@gus @max hi"}))[
        "comment"
    ]["id"]
    # The guest is mentioned; the owner (creator, subscribed) is told of the comment.
    assert sorted(await notified(connection, issue)) == [
        (OWNER, "COMMENTED", True),
        (GUEST, "MENTIONED", True),
    ]
    await ok(member, COMMENT_UPDATE, {"id": comment, "body": "@gus @max @ada @olga hi"})
    assert sorted(await notified(connection, issue)) == [
        (ADMIN, "MENTIONED", True),
        (OWNER, "COMMENTED", True),
        (GUEST, "MENTIONED", True),
    ]


async def test_the_most_specific_reason_wins(gql_as, connection):
    owner = gql_as(OWNER)
    issue = (await create_issue(owner, connection))["issue"]["id"]
    await ok(owner, ISSUE_UPDATE, {"id": issue, "assigneeId": await user_id(connection, MEMBER)})
    await ok(gql_as(ADMIN), COMMENT_CREATE, {"issueId": issue, "body": "following"})
    (state,) = await connection.execute(
        text(
            "SELECT id FROM workflow_states WHERE workspace_id = 1 AND id <> "
            "(SELECT state_id FROM issues WHERE id = :i) ORDER BY position LIMIT 1"
        ),
        {"i": pk(issue)},
    )
    before = len(await notified(connection, issue))
    # One mutation that assigns the admin (a subscriber) and mentions the member: each once.
    await ok(
        owner,
        ISSUE_UPDATE,
        {
            "id": issue,
            "assigneeId": await user_id(connection, ADMIN),
            "stateId": to_global_id("WorkflowState", state[0]),
            "description": "over to @ada, thanks @max",
        },
    )
    assert sorted((await notified(connection, issue))[before:]) == [
        (ADMIN, "ASSIGNED", False),
        (MEMBER, "MENTIONED", False),
    ]


async def test_state_changes_and_comments_tell_subscribers_but_not_the_actor(gql_as, connection):
    owner, member = gql_as(OWNER), gql_as(MEMBER)
    issue = (await create_issue(owner, connection, assigneeId=await user_id(connection, MEMBER)))[
        "issue"
    ]["id"]
    await ok(gql_as(GUEST), COMMENT_CREATE, {"issueId": issue, "body": "me too"})
    # Creator, assignee and commenter follow it.
    assert await subscribers(connection, issue) == {OWNER, MEMBER, GUEST}
    before = len(await notified(connection, issue))
    states = (
        await connection.execute(
            text("SELECT id FROM workflow_states WHERE workspace_id = 1 ORDER BY position")
        )
    ).all()
    current = (
        await connection.execute(
            text("SELECT state_id FROM issues WHERE id = :i"), {"i": pk(issue)}
        )
    ).scalar()
    target = next(row[0] for row in states if row[0] != current)
    await ok(member, ISSUE_UPDATE, {"id": issue, "stateId": to_global_id("WorkflowState", target)})
    assert sorted((await notified(connection, issue))[before:]) == [
        (OWNER, "STATE_CHANGED", False),
        (GUEST, "STATE_CHANGED", False),
    ]
    before = len(await notified(connection, issue))
    await ok(owner, COMMENT_CREATE, {"issueId": issue, "body": "done?"})
    assert sorted((await notified(connection, issue))[before:]) == [
        (GUEST, "COMMENTED", True),
        (MEMBER, "COMMENTED", True),
    ]


async def test_a_member_who_left_is_told_nothing(gql_as, connection):
    owner = gql_as(OWNER)
    issue = (await create_issue(owner, connection))["issue"]["id"]
    await ok(gql_as(GUEST), COMMENT_CREATE, {"issueId": issue, "body": "following"})
    await connection.execute(
        text("DELETE FROM memberships WHERE user_id = :u AND workspace_id = 1"),
        {"u": await user_pk(connection, GUEST)},
    )
    await ok(owner, COMMENT_CREATE, {"issueId": issue, "body": "@gus still there?"})
    assert [row for row in await notified(connection, issue) if row[0] == GUEST] == []


async def test_mutations_that_concern_no_one_write_no_notification(gql_as, connection, statements):
    owner = gql_as(OWNER)
    issue = (await create_issue(owner, connection))["issue"]["id"]
    before = statements.count
    await ok(owner, ISSUE_UPDATE, {"id": issue, "title": "Renamed", "priority": "HIGH"})
    renamed = [s for s in statements.statements[before:] if "notification" in s or "subscri" in s]
    assert renamed == []  # no change the rules read: not one statement
    assert await notified(connection, issue) == []


async def test_in_app_off_writes_no_row_and_email_on_sends_one(gql_as, connection):
    member = gql_as(MEMBER)
    await ok(member, PREFERENCE_UPDATE, {"kind": "ASSIGNED", "inApp": False})
    await ok(member, PREFERENCE_UPDATE, {"kind": "COMMENTED", "email": True})
    owner = gql_as(OWNER)
    issue = (
        await create_issue(
            owner,
            connection,
            title="<b>Bold</b> & co",
            assigneeId=await user_id(connection, MEMBER),
        )
    )["issue"]
    assert await notified(connection, issue["id"]) == []
    (assigned,) = await emails_to(connection, MEMBER)
    identifier = issue["identifier"]
    assert assigned["subject"] == f"[{identifier}] <b>Bold</b> & co"
    assert f"http://127.0.0.1:8000/issue/{identifier}" in assigned["text"]
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in assigned["html"] and "<b>" not in assigned["html"]
    headers = assigned["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe?token=")
    # COMMENTED is not emailed by default; the member turned it on.
    await ok(owner, COMMENT_CREATE, {"issueId": issue["id"], "body": "a comment"})
    assert [e["subject"] for e in await emails_to(connection, MEMBER)][1:] == [
        f"[{identifier}] <b>Bold</b> & co"
    ]
    assert await notified(connection, issue["id"]) == [(MEMBER, "COMMENTED", True)]
    assert await emails_to(connection, STRANGER) == []


async def test_a_title_with_line_breaks_makes_a_one_line_subject(gql_as, connection):
    """A header cannot hold a line break (nor carry a smuggled one): the email would be
    unsendable."""
    issue = (
        await create_issue(
            gql_as(OWNER),
            connection,
            title="Fix login\nBcc: someone@evil.example\u2028too",
            assigneeId=await user_id(connection, MEMBER),
        )
    )["issue"]
    (assigned,) = await emails_to(connection, MEMBER)
    assert assigned["subject"] == (
        f"[{issue['identifier']}] Fix login Bcc: someone@evil.example too"
    )
