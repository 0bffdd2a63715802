"""The inbox as its owner reads it: `viewer.notifications` newest first, `unreadOnly`, paging,
the unread count, marking read (one's own only), preferences with their defaults, following
and unfollowing issues."""

from __future__ import annotations

from sqlalchemy import text

from tests.support.actors import ADMIN, GUEST, MEMBER, OWNER, STRANGER
from tests.support.factories import ACME, create_issue
from tests.support.ids import to_global_id
from tests.support.inbox import PREFERENCE_UPDATE, ok, subscribers, user_pk

INBOX = """query ($unreadOnly: Boolean, $first: Int, $after: String) { viewer {
    unreadNotificationCount
    notifications(unreadOnly: $unreadOnly, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id kind read readAt createdAt issue { identifier } comment { id } actor { email } }
    } } }"""
MARK_READ = """mutation ($id: ID!) { notificationMarkRead(input: {id: $id}) {
    notification { id read readAt } errors { code } } }"""
MARK_ALL = """mutation ($input: NotificationMarkAllReadInput!) {
    notificationMarkAllRead(input: $input) { markedCount errors { code } } }"""
SUBSCRIBE = """mutation ($id: ID!) { issueSubscribe(input: {issueId: $id}) {
    issue { id viewerIsSubscribed } errors { code } } }"""
UNSUBSCRIBE = """mutation ($id: ID!) { issueUnsubscribe(input: {issueId: $id}) {
    issue { id viewerIsSubscribed } errors { code } } }"""


async def assign_three(gql_as, connection) -> list[str]:
    """Three issues assigned to the member by the owner: three notifications, oldest first."""
    member = to_global_id("User", await user_pk(connection, MEMBER))
    return [
        (await create_issue(gql_as(OWNER), connection, title=f"Task {n}", assigneeId=member))[
            "issue"
        ]["identifier"]
        for n in range(3)
    ]


async def inbox(gql, **variables) -> dict:
    body = await gql(INBOX, variables)
    assert "errors" not in body, body
    return body["data"]["viewer"]


async def test_newest_first_paged_with_the_unread_count(gql_as, connection):
    identifiers = await assign_three(gql_as, connection)
    member = gql_as(MEMBER)
    first = await inbox(member, first=2)
    assert first["unreadNotificationCount"] == 3
    page = first["notifications"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    assert [n["issue"]["identifier"] for n in page["nodes"]] == identifiers[::-1][:2]
    node = page["nodes"][0]
    assert node["kind"] == "ASSIGNED" and node["actor"]["email"] == OWNER
    assert node["read"] is False and node["readAt"] is None and node["comment"] is None
    rest = (await inbox(member, first=2, after=page["pageInfo"]["endCursor"]))["notifications"]
    assert [n["issue"]["identifier"] for n in rest["nodes"]] == identifiers[:1]
    assert not rest["pageInfo"]["hasNextPage"]


async def test_mark_read_and_unread_only(gql_as, connection):
    await assign_three(gql_as, connection)
    member = gql_as(MEMBER)
    nodes = (await inbox(member))["notifications"]["nodes"]
    marked = await member(MARK_READ, {"id": nodes[1]["id"]})
    notification = marked["data"]["notificationMarkRead"]["notification"]
    assert notification["read"] is True and notification["readAt"] is not None
    unread = await inbox(member, unreadOnly=True)
    assert [n["id"] for n in unread["notifications"]["nodes"]] == [nodes[0]["id"], nodes[2]["id"]]
    assert unread["unreadNotificationCount"] == 2
    # Marking a read one again keeps it read, with the time it was first read.
    again = await member(MARK_READ, {"id": nodes[1]["id"]})
    assert again["data"]["notificationMarkRead"]["notification"] == notification


async def test_another_users_notification_is_not_found(gql_as, connection):
    await assign_three(gql_as, connection)
    (theirs, *_) = (await inbox(gql_as(MEMBER)))["notifications"]["nodes"]
    for other in (ADMIN, GUEST, STRANGER):
        refused = await gql_as(other)(MARK_READ, {"id": theirs["id"]})
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        found = await gql_as(other)(
            "query ($id: ID!) { node(id: $id) { id } }", {"id": theirs["id"]}
        )
        assert found["data"]["node"] is None
    # Nor does anyone read another user's inbox through their `User`.
    peek = await gql_as(ADMIN)(
        "query ($id: ID!) { node(id: $id) { ... on User { notifications { totalCount } "
        "unreadNotificationCount notificationPreferences { kind } } } }",
        {"id": to_global_id("User", await user_pk(connection, MEMBER))},
    )
    assert peek["data"]["node"] == {
        "notifications": None,
        "unreadNotificationCount": None,
        "notificationPreferences": None,
    }
    assert (await inbox(gql_as(MEMBER)))["unreadNotificationCount"] == 3


async def test_mark_all_read_counts_and_can_keep_to_one_workspace(gql_as, connection):
    await assign_three(gql_as, connection)
    member = gql_as(MEMBER)
    globex = to_global_id("Workspace", 2)
    refused = await member(MARK_ALL, {"input": {"workspaceId": globex}})
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    payload = await ok(member, MARK_ALL, {"workspaceId": ACME})
    assert payload["markedCount"] == 3
    assert (await ok(member, MARK_ALL, {}))["markedCount"] == 0
    assert (await inbox(member, unreadOnly=True))["notifications"]["nodes"] == []


async def test_a_workspace_left_takes_its_notifications_out_of_the_inbox(gql_as, connection):
    await assign_three(gql_as, connection)
    await connection.execute(
        text("DELETE FROM memberships WHERE user_id = :u AND workspace_id = 1"),
        {"u": await user_pk(connection, MEMBER)},
    )
    left = await inbox(gql_as(MEMBER))
    assert left["notifications"]["nodes"] == [] and left["unreadNotificationCount"] == 0


async def test_preferences_have_defaults_and_change_field_by_field(gql_as):
    member = gql_as(MEMBER)
    query = "{ viewer { notificationPreferences { kind inApp email } } }"
    defaults = (await member(query))["data"]["viewer"]["notificationPreferences"]
    assert defaults == [
        {"kind": "ASSIGNED", "inApp": True, "email": True},
        {"kind": "MENTIONED", "inApp": True, "email": True},
        {"kind": "STATE_CHANGED", "inApp": True, "email": False},
        {"kind": "COMMENTED", "inApp": True, "email": False},
    ]
    changed = await ok(member, PREFERENCE_UPDATE, {"kind": "MENTIONED", "email": False})
    assert changed["preference"] == {"kind": "MENTIONED", "inApp": True, "email": False}
    changed = await ok(member, PREFERENCE_UPDATE, {"kind": "MENTIONED", "inApp": False})
    assert changed["preference"] == {"kind": "MENTIONED", "inApp": False, "email": False}
    after = (await member(query))["data"]["viewer"]["notificationPreferences"]
    assert after[1] == {"kind": "MENTIONED", "inApp": False, "email": False}
    assert after[0] == defaults[0] and after[2:] == defaults[2:]
    # Another user's are their own.
    assert (await gql_as(ADMIN)(query))["data"]["viewer"]["notificationPreferences"] == defaults


async def test_guests_follow_and_unfollow_what_they_read(gql_as, connection):
    issue = (await create_issue(gql_as(OWNER), connection))["issue"]["id"]
    guest = gql_as(GUEST)
    followed = await guest(SUBSCRIBE, {"id": issue})
    assert followed["data"]["issueSubscribe"]["issue"]["viewerIsSubscribed"] is True
    assert await subscribers(connection, issue) == {OWNER, GUEST}
    # Twice is once.
    assert (await guest(SUBSCRIBE, {"id": issue}))["data"]["issueSubscribe"]["errors"] == []
    unfollowed = await guest(UNSUBSCRIBE, {"id": issue})
    assert unfollowed["data"]["issueUnsubscribe"]["issue"]["viewerIsSubscribed"] is False
    assert await subscribers(connection, issue) == {OWNER}
    refused = await gql_as(STRANGER)(SUBSCRIBE, {"id": issue})
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    listed = await gql_as(OWNER)(
        '{ workspace(slug: "acme") { issues(first: 3) { nodes { id viewerIsSubscribed } } } }'
    )
    nodes = listed["data"]["workspace"]["issues"]["nodes"]
    assert {n["id"]: n["viewerIsSubscribed"] for n in nodes}[issue] is True
