"""Subscriptions end to end: real WebSocket clients against two real server processes sharing
one PostgreSQL. Writes go through one process's HTTP API; subscribers sit on either."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from core.ids import to_global_id
from schema.changes import stream_cursor, stream_position
from tests.live.conftest import RENAME, SETTINGS
from tests.support.actors import ADMIN, GUEST, MEMBER, OWNER, STRANGER
from tests.support.live import ISSUE_NEW_VALUES, ISSUE_TITLES, Socket, all_closed

if TYPE_CHECKING:
    from tests.live.conftest import Live

ISSUE_EVENTS = """
subscription($issue: ID, $workspace: ID, $project: ID, $filter: IssueFilter, $after: String) {
  issueChanged(issueId: $issue, workspaceId: $workspace, projectId: $project, filter: $filter,
               after: $after) {
    cursor action matchesFilter issueId
    issue { title priority }
    changes { field fromValue toValue }
    actor { email }
  }
}
"""
REPRIORITIZE = """
mutation($id: ID!, $priority: Priority!) {
  issueUpdate(input: {id: $id, priority: $priority}) { errors { message } }
}
"""


async def test_an_event_written_through_one_process_reaches_a_subscriber_on_the_other(
    live: Live, owner: str
):
    issue = await live.an_issue(0)
    socket = await Socket.open(live.ports[1], owner)
    try:
        await socket.subscribe("1", ISSUE_EVENTS, {"issue": issue, "after": await live.head()})
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Seen across processes")

        event = (await socket.event("1"))["issueChanged"]
        assert event["action"] == "UPDATED"
        assert event["issueId"] == issue
        assert event["issue"]["title"] == "Seen across processes"
        assert event["matchesFilter"] is True
        [change] = event["changes"]
        assert change["field"] == "title"
        assert change["toValue"] == "Seen across processes"
        assert event["actor"] == {"email": OWNER}
        assert event["cursor"]
    finally:
        await socket.close()


async def test_every_subscriber_gets_every_event_once_and_in_order(live: Live, owner: str):
    issue = await live.an_issue(1)
    sockets = [await Socket.open(live.ports[n % 2], owner) for n in range(4)]
    async with all_closed(sockets):
        head = await live.head()
        for socket in sockets:
            await socket.subscribe("board", ISSUE_EVENTS, {"issue": issue, "after": head})
        titles = [f"Version {n}" for n in range(12)]
        # Writes through both processes, some of them at once.
        await asyncio.gather(
            *(
                live.graphql(live.ports[n % 2], owner, RENAME, id=issue, title=title)
                for n, title in enumerate(titles[:6])
            )
        )
        for n, title in enumerate(titles[6:]):
            await live.graphql(live.ports[n % 2], owner, RENAME, id=issue, title=title)

        streams = []
        for socket in sockets:
            events = [(await socket.event("board"))["issueChanged"] for _ in titles]
            await socket.nothing_within(0.5)
            streams.append(events)
        for events in streams:
            cursors = [event["cursor"] for event in events]
            assert len(set(cursors)) == len(titles)
            assert [event["changes"][0]["toValue"] for event in events] == [
                event["changes"][0]["toValue"] for event in streams[0]
            ]
            assert sorted(e["changes"][0]["toValue"] for e in events) == sorted(titles)
        # Stream order is commit order: the last write is the last event everywhere.
        assert all(events[-1]["changes"][0]["toValue"] == titles[-1] for events in streams)


async def test_a_resumed_subscription_gets_exactly_what_it_missed_then_live_events(
    live: Live, owner: str
):
    issue = await live.an_issue(2)
    socket = await Socket.open(live.ports[0], owner)
    await socket.subscribe("1", ISSUE_EVENTS, {"issue": issue, "after": await live.head()})
    await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Before the tunnel")
    cursor = (await socket.event("1"))["issueChanged"]["cursor"]
    await socket.close()

    for n in range(3):  # offline
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title=f"Missed {n}")

    socket = await Socket.open(live.ports[1], owner)
    try:
        await socket.subscribe("1", ISSUE_EVENTS, {"issue": issue, "after": cursor})
        missed = [(await socket.event("1"))["issueChanged"] for _ in range(3)]
        assert [event["changes"][0]["toValue"] for event in missed] == [
            "Missed 0",
            "Missed 1",
            "Missed 2",
        ]
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Back online")
        live_event = (await socket.event("1"))["issueChanged"]
        assert live_event["changes"][0]["toValue"] == "Back online"
        await socket.nothing_within(0.5)  # no duplicate at the seam
    finally:
        await socket.close()


async def test_subscribers_resuming_from_different_cursors_each_get_their_own_past_once(
    live: Live, owner: str
):
    """They share one execution per event (their cursors are left out of the group's key), and
    each still gets exactly what it had not seen."""
    issue = await live.an_issue(10)
    early = await live.head()
    await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Seen by one")
    late = await live.head()
    await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Seen by both")
    sockets = [await Socket.open(live.ports[1], owner) for _ in range(2)]

    async def title(socket: Socket) -> str:
        return str((await socket.event("1"))["issueChanged"]["changes"][0]["toValue"])

    async with all_closed(sockets):
        for socket, cursor in zip(sockets, (early, late), strict=True):
            await socket.subscribe("1", ISSUE_EVENTS, {"issue": issue, "after": cursor})
        first, second = sockets
        assert [await title(first), await title(first)] == ["Seen by one", "Seen by both"]
        assert await title(second) == "Seen by both"
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Live for both")
        assert await title(first) == "Live for both"
        assert await title(second) == "Live for both"
        await first.nothing_within(0.5)
        await second.nothing_within(0.1)


async def test_a_catch_up_longer_than_the_connections_queue_waits_for_its_client(
    live: Live, owner: str
):
    issue = await live.an_issue(9)
    head = await live.head()
    missed = int(SETTINGS["BACKLOG_WS_MAX_QUEUED"]) + 10
    for n in range(missed):
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title=f"While away {n}")
    socket = await Socket.open(live.ports[1], owner)
    try:
        # Nothing in it reads the database: a page of events is encoded without a pause.
        await socket.subscribe("1", ISSUE_NEW_VALUES, {"i": issue, "after": head})
        titles = [
            (await socket.event("1"))["issueChanged"]["changes"][0]["toValue"]
            for _ in range(missed)
        ]
        assert titles == [f"While away {n}" for n in range(missed)]
    finally:
        await socket.close()


async def test_a_cursor_older_than_the_retention_window_is_refused(live: Live, owner: str):
    created = await live.graphql(
        live.ports[0],
        owner,
        'mutation { workspaceCreate(input: {name: "Old", slug: "old-stream"}) '
        "{ workspace { id changes { cursor } } } }",
    )
    workspace = created["workspaceCreate"]["workspace"]
    await live.execute(
        "UPDATE activity SET created_at = now() - interval '8 days' "
        "WHERE workspace_id = (SELECT id FROM workspaces WHERE slug = 'old-stream')"
    )
    beginning = await live.graphql(
        live.ports[0],
        owner,
        "query($w: ID!) { node(id: $w) { ... on Workspace { changes(since: null) { cursor } } } }",
        w=workspace["id"],
    )
    head = beginning["node"]["changes"]["cursor"]
    # A cursor from before the workspace's first entry: it would replay 8-day-old entries.
    workspace_pk, _ = stream_position(head, "after")
    socket = await Socket.open(live.ports[1], await live.token(OWNER))
    try:
        await socket.subscribe(
            "1",
            "subscription($w: ID!, $after: String) "
            "{ workspaceChanged(workspaceId: $w, after: $after) { cursor } }",
            {"w": workspace["id"], "after": stream_cursor(workspace_pk, 0)},
        )
        message = await socket.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "CURSOR_EXPIRED"
        # From the head, nothing old is replayed and it runs.
        await socket.subscribe(
            "2",
            "subscription($w: ID!, $after: String) "
            "{ workspaceChanged(workspaceId: $w, after: $after) { cursor } }",
            {"w": workspace["id"], "after": head},
        )
        await socket.nothing_within(0.5)
    finally:
        await socket.close()


async def test_a_cursor_ahead_of_the_stream_is_refused(live: Live, owner: str):
    workspace = await live.acme()
    workspace_pk = await live.scalar("SELECT id FROM workspaces WHERE slug = 'acme'")
    socket = await Socket.open(live.ports[0], owner)
    try:
        await socket.subscribe(
            "1",
            ISSUE_EVENTS,
            {"workspace": workspace, "after": stream_cursor(workspace_pk, 10**12)},
        )
        message = await socket.receive()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    finally:
        await socket.close()


async def test_my_issues_follow_each_subscriber_and_stop_no_one_else(live: Live, owner: str):
    issue = await live.an_issue(8)
    guest, member = await live.token(GUEST), await live.token(MEMBER)
    guest_id = await live.scalar("SELECT id FROM users WHERE email = :e", e=GUEST)
    await live.graphql(
        live.ports[0],
        owner,
        "mutation($id: ID!, $a: ID!) { issueUpdate(input: {id: $id, assigneeId: $a}) "
        "{ errors { message } } }",
        id=issue,
        a=to_global_id("User", guest_id),
    )
    mine = {"assignee": {"isMe": True}}
    workspace = await live.acme()
    guest_socket = await Socket.open(live.ports[1], guest)
    member_socket = await Socket.open(live.ports[1], member)
    everyone = await Socket.open(live.ports[1], member)
    async with all_closed((guest_socket, member_socket, everyone)):
        # The same document and variables: "me" is each subscriber's own.
        head = await live.head()
        mine_after = {"workspace": workspace, "filter": mine, "after": head}
        await guest_socket.subscribe("mine", ISSUE_EVENTS, mine_after)
        await member_socket.subscribe("mine", ISSUE_EVENTS, mine_after)
        await everyone.subscribe("all", ISSUE_EVENTS, {"workspace": workspace, "after": head})
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title="The guest's issue")
        event = (await guest_socket.event("mine"))["issueChanged"]
        assert (event["issueId"], event["matchesFilter"]) == (issue, True)
        assert (await everyone.event("all"))["issueChanged"]["issueId"] == issue
        await member_socket.nothing_within(0.5)


async def test_a_filter_is_evaluated_per_event_and_an_issue_leaving_it_is_told_once(
    live: Live, owner: str
):
    issue = await live.an_issue(3)
    await live.graphql(live.ports[0], owner, REPRIORITIZE, id=issue, priority="URGENT")
    socket = await Socket.open(live.ports[1], owner)
    try:
        urgent = {"priority": {"eq": "URGENT"}}
        variables = {"workspace": await live.acme(), "filter": urgent, "after": await live.head()}
        await socket.subscribe("1", ISSUE_EVENTS, variables)
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Still urgent")
        event = (await socket.event("1"))["issueChanged"]
        assert (event["issueId"], event["matchesFilter"]) == (issue, True)

        await live.graphql(live.ports[0], owner, REPRIORITIZE, id=issue, priority="LOW")
        left = (await socket.event("1"))["issueChanged"]
        assert (left["issueId"], left["matchesFilter"]) == (issue, False)
        assert left["issue"]["priority"] == "LOW"

        await live.graphql(live.ports[0], owner, RENAME, id=issue, title="No longer urgent")
        await socket.nothing_within(0.7)
    finally:
        await socket.close()


async def test_comments_of_an_issue_arrive_with_the_comment(live: Live, owner: str):
    issue = await live.an_issue(4)
    socket = await Socket.open(live.ports[0], owner)
    try:
        await socket.subscribe(
            "c",
            "subscription($i: ID!, $after: String) { commentChanged(issueId: $i, after: $after) "
            "{ action commentId comment { body } } }",
            {"i": issue, "after": await live.head()},
        )
        await live.graphql(live.ports[1], owner, COMMENT, i=issue)
        event = (await socket.event("c"))["commentChanged"]
        assert event["action"] == "CREATED"
        assert event["comment"] == {"body": "Live!"}
    finally:
        await socket.close()


COMMENT = (
    'mutation($i: ID!) { commentCreate(input: {issueId: $i, body: "Live!"}) '
    "{ errors { message } } }"
)
CHANGES_OF_TYPES = (
    "subscription($w: ID!, $types: [String!], $after: String) "
    "{ workspaceChanged(workspaceId: $w, subjectTypes: $types, after: $after) "
    "{ subjectType action } }"
)


async def test_a_workspace_subscription_names_the_types_it_wants(live: Live, owner: str):
    issue = await live.an_issue(4)
    socket = await Socket.open(live.ports[0], owner)
    try:
        variables = {"w": await live.acme(), "types": ["Comment"], "after": await live.head()}
        await socket.subscribe("1", CHANGES_OF_TYPES, variables)
        # The issue's change is committed first: a subscription sent it would get it first.
        await live.graphql(live.ports[1], owner, RENAME, id=issue, title="Only comments")
        await live.graphql(live.ports[1], owner, COMMENT, i=issue)
        event = (await socket.event("1"))["workspaceChanged"]
        assert event == {"subjectType": "Comment", "action": "CREATED"}
        await socket.nothing_within(0.5)
    finally:
        await socket.close()


@pytest.mark.parametrize("types", [["Issue", "Bug"], []], ids=["unknown type", "none"])
async def test_subject_types_must_name_types_the_stream_records(live: Live, owner: str, types):
    socket = await Socket.open(live.ports[0], owner)
    try:
        await socket.subscribe("1", CHANGES_OF_TYPES, {"w": await live.acme(), "types": types})
        message = await socket.receive()
        assert message["type"] == "error"
        error = message["payload"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "`subjectTypes` names one or more of Issue, Comment" in error["message"]
    finally:
        await socket.close()


async def test_a_stranger_cannot_subscribe_to_a_workspace(live: Live):
    socket = await Socket.open(live.ports[0], await live.token(STRANGER))
    try:
        await socket.subscribe("1", ISSUE_EVENTS, {"workspace": await live.acme()})
        message = await socket.receive()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"
    finally:
        await socket.close()


async def membership(live: Live, email: str) -> str:
    return await live.global_id(
        "Membership",
        "SELECT m.id FROM memberships m JOIN users u ON u.id = m.user_id "
        "JOIN workspaces w ON w.id = m.workspace_id WHERE w.slug = 'acme' AND u.email = :e",
        e=email,
    )


async def test_a_member_removed_while_subscribed_gets_nothing_more(live: Live, owner: str):
    issue = await live.an_issue(5)
    member_id = await membership(live, GUEST)
    socket = await Socket.open(live.ports[1], await live.token(GUEST))
    try:
        await socket.subscribe("1", ISSUE_EVENTS, {"issue": issue, "after": await live.head()})
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Guests see this")
        assert (await socket.event("1"))["issueChanged"]["issue"]["title"] == "Guests see this"

        await live.graphql(
            live.ports[0],
            owner,
            "mutation($m: ID!) { memberRemove(input: {membershipId: $m}) { errors { message } } }",
            m=member_id,
        )
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Guests are gone")
        ended = await socket.receive()
        assert ended["type"] == "error" and ended["id"] == "1", ended
        assert ended["payload"][0]["extensions"]["code"] == "NOT_FOUND"
        await socket.nothing_within(0.5)
    finally:
        await socket.close()


async def test_a_demoted_subscriber_stops_receiving_what_its_new_role_may_not_read(
    live: Live, owner: str
):
    workspace = await live.acme()
    admin = await Socket.open(live.ports[0], await live.token(ADMIN))
    invite = (
        "mutation($w: ID!, $e: String!) { memberInvite(input: {workspaceId: $w, email: $e}) "
        "{ errors { message } } }"
    )
    try:
        await admin.subscribe(
            "1",
            "subscription($w: ID!, $after: String) "
            "{ workspaceChanged(workspaceId: $w, after: $after) { subjectType action } }",
            {"w": workspace, "after": await live.head()},
        )
        await live.graphql(live.ports[1], owner, invite, w=workspace, e="first@example.com")
        event = (await admin.event("1"))["workspaceChanged"]
        assert event["subjectType"] == "Invitation"

        await live.graphql(
            live.ports[1],
            owner,
            "mutation($m: ID!) { memberUpdateRole(input: {membershipId: $m, role: MEMBER}) "
            "{ errors { message } } }",
            m=await membership(live, ADMIN),
        )
        await live.graphql(live.ports[1], owner, invite, w=workspace, e="second@example.com")
        seen = []
        while True:
            try:
                seen.append((await admin.event("1", within_s=1.0))["workspaceChanged"])
            except TimeoutError:
                break
        assert "Invitation" not in [event["subjectType"] for event in seen]
        assert "Membership" in [event["subjectType"] for event in seen]  # its own demotion
    finally:
        await admin.close()


async def test_the_python_gql_client_subscribes(live: Live, owner: str):
    from gql import Client, GraphQLRequest
    from gql.transport.websockets import WebsocketsTransport

    issue = await live.an_issue(6)
    transport = WebsocketsTransport(
        url=f"ws://127.0.0.1:{live.ports[1]}/graphql",
        init_payload={"Authorization": f"Bearer {owner}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=transport) as session:
        events = session.subscribe(
            GraphQLRequest(ISSUE_TITLES, variable_values={"i": issue, "after": await live.head()})
        )

        async def write_soon() -> None:
            await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Hello, gql")

        writer = asyncio.create_task(write_soon())
        first = await asyncio.wait_for(anext(aiter(events)), 10)
        await writer
        assert first == {"issueChanged": {"issue": {"title": "Hello, gql"}}}
        await events.aclose()


async def test_a_member_subscribes_as_a_member(live: Live):
    socket = await Socket.open(live.ports[0], await live.token(MEMBER))
    try:
        await socket.subscribe("1", ISSUE_EVENTS, {"workspace": await live.acme()})
        await socket.nothing_within(0.3)  # accepted: no error
    finally:
        await socket.close()
