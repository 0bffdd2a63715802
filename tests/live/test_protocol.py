"""The WebSocket protocols' rules, limits and close codes, against a real server process; and
what happens to subscriptions when PostgreSQL restarts or the server shuts down."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import orjson
import pytest
import websockets

from auth.tokens import AccessTokenIssuer
from server.graphql_view import GRAPHQL_RESPONSE_JSON
from tests.support.actors import OWNER, TEST_JWT_SECRET
from tests.support.live import ISSUE_NEW_VALUES, ISSUE_TITLES, SilentSocket, Socket, all_closed
from tests.support.processes import free_port, serve, wait_until_healthy

if TYPE_CHECKING:
    from tests.live.conftest import Live

from tests.live.conftest import RENAME, SETTINGS

TITLES = (
    "subscription($w: ID!) { issueChanged(workspaceId: $w) "
    "{ cursor issue { title } changes { toValue } } }"
)


async def test_a_bad_token_in_connection_init_closes_with_4403(live: Live):
    socket = await Socket.open(live.ports[0], init=False)
    await socket.send({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
    assert (await socket.closed())[0] == 4403


async def test_no_connection_init_in_time_closes_with_4408(live: Live):
    socket = await Socket.open(live.ports[0], init=False)
    assert (await socket.closed(within_s=5))[0] == 4408


async def test_subscribing_before_the_acknowledgement_closes_with_4401(live: Live):
    socket = await Socket.open(live.ports[0], init=False)
    await socket.subscribe("1", "subscription { __typename }")
    assert (await socket.closed())[0] == 4401


async def test_a_connection_without_a_credential_is_refused_in_production(live: Live):
    socket = await Socket.open(live.ports[0], init=False)
    await socket.send({"type": "connection_init", "payload": {}})
    assert (await socket.closed())[0] == 4403


@pytest.mark.parametrize(
    "message",
    [
        {"type": "unheard_of"},
        {"type": "é" * 100},  # its close reason is cut to fit the frame
        {"id": "1", "type": "subscribe"},  # no payload
        {"id": 1, "type": "subscribe", "payload": {"query": "subscription { x }"}},
        ["not", "an", "object"],
    ],
)
async def test_malformed_or_unknown_messages_close_with_4400(live: Live, owner: str, message):
    socket = await Socket.open(live.ports[0], owner)
    await socket.send(message)  # type: ignore[arg-type]
    assert (await socket.closed())[0] == 4400


async def test_text_that_is_not_json_closes_with_4400(live: Live, owner: str):
    socket = await Socket.open(live.ports[0], owner)
    await socket.connection.send("{not json")
    assert (await socket.closed())[0] == 4400


async def test_a_second_connection_init_closes_with_4429(live: Live, owner: str):
    socket = await Socket.open(live.ports[0], owner)
    await socket.send({"type": "connection_init", "payload": {}})
    assert (await socket.closed())[0] == 4429


async def test_a_message_past_the_size_limit_closes_with_1009(live: Live, owner: str):
    socket = await Socket.open(live.ports[0], owner)
    await socket.subscribe("1", "subscription { __typename }" + " " * 5000)
    assert (await socket.closed())[0] == 1009


async def test_an_id_still_running_closes_with_4409(live: Live, owner: str):
    socket = await Socket.open(live.ports[0], owner)
    await socket.subscribe("1", TITLES, {"w": await live.acme()})
    await socket.subscribe("1", TITLES, {"w": await live.acme()})
    assert (await socket.closed())[0] == 4409


async def test_no_subprotocol_is_refused_with_4406(live: Live):
    socket = await Socket.open(live.ports[0], protocol=None, init=False)
    assert (await socket.closed())[0] == 4406


async def test_compression_is_declined_unless_turned_on(live: Live, owner: str):
    socket = await Socket.open(live.ports[0], owner, compression="deflate")
    try:
        assert socket.connection.response.headers.get("Sec-WebSocket-Extensions") is None
    finally:
        await socket.close()


async def test_ping_gets_pong(live: Live, owner: str):
    socket = await Socket.open(live.ports[0], owner)
    try:
        await socket.send({"type": "ping", "payload": {"at": 1}})
        assert await socket.receive() == {"type": "pong", "payload": {"at": 1}}
    finally:
        await socket.close()


async def test_subscription_documents_get_the_same_validation_as_queries(live: Live, owner: str):
    socket = await Socket.open(live.ports[0], owner)
    try:
        await socket.subscribe("bad", "subscription { issueChanged { nope } }")
        refused = await socket.receive()
        assert refused["type"] == "error" and refused["id"] == "bad"
        assert refused["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

        await socket.subscribe("query", "{ viewer { name } }")
        refused = await socket.receive()
        assert refused["type"] == "error" and refused["id"] == "query"
        assert refused["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "over HTTP" in refused["payload"][0]["message"]

        deep = (
            "subscription($i: ID!) { commentChanged(issueId: $i) { comment "
            + ("{ issue { parent " * 8)
            + "{ title }"
            + " } }" * 8
            + " } }"
        )
        await socket.subscribe("deep", deep, {"i": await live.an_issue(0, from_the_end=True)})
        refused = await socket.receive()
        assert refused["type"] == "error" and refused["id"] == "deep"
        assert "depth" in refused["payload"][0]["message"]

        await socket.subscribe("neither", "subscription { issueChanged { cursor } }")
        refused = await socket.receive()
        assert refused["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        # The connection is still good.
        await socket.send({"type": "ping"})
        assert (await socket.receive())["type"] == "pong"
    finally:
        await socket.close()


async def test_a_subscription_sent_over_http_is_told_where_to_go(live: Live, owner: str):
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{live.ports[0]}/graphql",
            json={"query": TITLES, "variables": {"w": await live.acme()}},
            headers={"Authorization": f"Bearer {owner}", "Accept": GRAPHQL_RESPONSE_JSON},
        )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "WebSocket" in error["message"]


async def test_subscriptions_per_connection_are_capped(live: Live, owner: str):
    socket = await Socket.open(live.ports[0], owner)
    try:
        workspace = await live.acme()
        for n in range(int(SETTINGS["BACKLOG_WS_MAX_SUBSCRIPTIONS"])):
            await socket.subscribe(str(n), TITLES, {"w": workspace})
        await socket.subscribe("one too many", TITLES, {"w": workspace})
        refused = await socket.receive()
        assert refused["id"] == "one too many" and refused["type"] == "error"
        # Completing one makes room.
        await socket.send({"id": "0", "type": "complete"})
        await asyncio.sleep(0.2)
        await socket.subscribe("room", TITLES, {"w": workspace})
        await socket.nothing_within(0.3)
    finally:
        await socket.close()


async def test_subscriptions_per_user_are_capped_across_connections(live: Live, owner: str):
    per_connection = int(SETTINGS["BACKLOG_WS_MAX_SUBSCRIPTIONS"])
    per_user = int(SETTINGS["BACKLOG_WS_MAX_SUBSCRIPTIONS_PER_USER"])
    workspace = await live.acme()
    sockets = [await Socket.open(live.ports[0], owner) for _ in range(3)]
    async with all_closed(sockets):
        for number in range(per_user + 1):
            socket = sockets[number // per_connection]
            await socket.subscribe(str(number), TITLES, {"w": workspace})
        # Whichever arrived last (connections are served concurrently) is refused, alone.
        refusals = []
        for socket in sockets:
            with contextlib.suppress(TimeoutError):
                refusals.append(await socket.receive(1.0))
        [refused] = refusals
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["limit"] == per_user


async def test_connections_per_user_are_capped(live: Live, owner: str):
    limit = int(SETTINGS["BACKLOG_WS_MAX_CONNECTIONS_PER_USER"])
    sockets = [await Socket.open(live.ports[1], owner) for _ in range(limit)]
    async with all_closed(sockets):
        extra = await Socket.open(live.ports[1], init=False)
        await extra.send(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {owner}"}}
        )
        assert (await extra.closed())[0] == 4441
    await asyncio.sleep(0.2)
    again = await Socket.open(live.ports[1], owner)  # the count went down as they closed
    await again.close()


async def test_an_access_token_expiring_while_connected_closes_with_4440(live: Live):
    user = await live.scalar("SELECT id FROM users WHERE email = :e", e=OWNER)
    issuer = AccessTokenIssuer(
        secret=TEST_JWT_SECRET,
        issuer="backlog",
        audience="backlog-api",
        lifetime=timedelta(seconds=2),
    )
    socket = await Socket.open(live.ports[0], issuer.issue(user)[0])
    code, reason = await socket.closed(within_s=6)
    assert code == 4440
    assert "refresh" in reason


async def test_a_revoked_api_token_is_disconnected(live: Live, owner: str):
    created = await live.graphql(
        live.ports[0],
        owner,
        'mutation { apiTokenCreate(input: {name: "live", scope: READ}) '
        "{ apiToken { id } secret } }",
    )
    token = created["apiTokenCreate"]
    socket = await Socket.open(live.ports[1], token["secret"])
    await socket.subscribe("1", TITLES, {"w": await live.acme()})
    await live.graphql(
        live.ports[0],
        owner,
        "mutation($id: ID!) { apiTokenRevoke(input: {id: $id}) { errors { message } } }",
        id=token["apiToken"]["id"],
    )
    code, reason = await socket.closed(within_s=5)  # BACKLOG_WS_RECHECK_S is 1 here
    assert code == 4403
    assert "revoked" in reason


async def test_a_client_that_does_not_read_is_disconnected_to_resume_later(live: Live, owner: str):
    issue = await live.an_issue(1, from_the_end=True)
    await live.graphql(
        live.ports[0],
        owner,
        "mutation($id: ID!, $d: String!) { issueUpdate(input: {id: $id, description: $d}) "
        "{ errors { message } } }",
        id=issue,
        d="x" * 60_000,
    )
    stalled = await asyncio.to_thread(SilentSocket, live.ports[0])
    try:
        stalled.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {owner}"}})
        # Each event is 600 kB: the sockets' buffers hold a few, then events queue in the
        # server, up to BACKLOG_WS_MAX_QUEUED.
        copies = " ".join(f"d{n}: description" for n in range(10))
        stalled.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": "subscription($i: ID) { issueChanged(issueId: $i) "
                    f"{{ issue {{ {copies} }} }} }}",
                    "variables": {"i": issue},
                },
            }
        )
        await asyncio.sleep(0.5)
        for n in range(40):
            await live.graphql(live.ports[1], owner, RENAME, id=issue, title=f"Flood {n}")
        # Its close frame comes after what waited for it.
        assert await asyncio.to_thread(stalled.close_code) == 4490
    finally:
        stalled.close()


async def test_a_postgresql_restart_mid_subscription_loses_nothing(live: Live, owner: str):
    issue = await live.an_issue(2, from_the_end=True)
    socket = await Socket.open(live.ports[1], owner)
    try:
        await socket.subscribe("1", ISSUE_NEW_VALUES, {"i": issue, "after": await live.head()})
        await live.graphql(live.ports[0], owner, RENAME, id=issue, title="Before the restart")
        await live.postgres.restart()
        await live.engine.dispose()
        # Written while the listener is still reconnecting: read once it is back.
        written = []
        for n in range(3):
            for _attempt in range(50):
                try:
                    await live.graphql(live.ports[0], owner, RENAME, id=issue, title=f"After {n}")
                    written.append(f"After {n}")
                    break
                except (AssertionError, OSError):
                    await asyncio.sleep(0.2)
        assert len(written) == 3
        received = [
            (await socket.event("1", within_s=20))["issueChanged"]["changes"][0]["toValue"]
            for _ in range(4)
        ]
        assert received == ["Before the restart", *written]
        await socket.nothing_within(0.5)
    finally:
        await socket.close()


async def test_the_legacy_graphql_ws_protocol(live: Live, owner: str):
    issue = await live.an_issue(3, from_the_end=True)
    async with websockets.connect(
        f"ws://127.0.0.1:{live.ports[0]}/graphql",
        subprotocols=["graphql-ws"],  # type: ignore[list-item]
    ) as connection:

        async def receive() -> dict:
            while True:
                message = orjson.loads(await asyncio.wait_for(connection.recv(), 10))
                if message["type"] != "ka":
                    return message

        await connection.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {owner}"}}
            ).decode()
        )
        assert (await receive())["type"] == "connection_ack"
        start = {
            "id": "7",
            "type": "start",
            "payload": {
                "query": ISSUE_TITLES,
                "variables": {"i": issue, "after": await live.head()},
            },
        }
        await connection.send(orjson.dumps(start).decode())
        await live.graphql(live.ports[1], owner, RENAME, id=issue, title="Old clients too")
        data = await receive()
        assert data == {
            "id": "7",
            "type": "data",
            "payload": {"data": {"issueChanged": {"issue": {"title": "Old clients too"}}}},
        }
        await connection.send(orjson.dumps({"id": "7", "type": "stop"}).decode())
        assert await receive() == {"id": "7", "type": "complete"}


async def test_shutdown_closes_sockets_with_1001(live: Live, owner: str, tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    process = serve(tmp_path, log, port, DATABASE_URL=live.postgres.url, **SETTINGS)
    try:
        wait_until_healthy(process, port, log, within_s=60)
        socket = await Socket.open(port, owner)
        await socket.subscribe("1", TITLES, {"w": await live.acme()})
        await asyncio.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        code, _ = await socket.closed()
        assert code == 1001
        assert await asyncio.to_thread(process.wait, 15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
