"""Subscriptions over WebSockets at `/graphql`: the `graphql-transport-ws` protocol (the
`graphql-ws` library's, which GraphiQL and current Apollo clients speak) and the legacy
`graphql-ws` one (`subscriptions-transport-ws`, older Apollo clients).

The connection authenticates once, in `connection_init`'s payload (`{"Authorization": "Bearer
…"}`); each subscription then goes through the same parsing, validation, depth, cost and rate
limits as an HTTP request (`execution.subscriptions.open_subscription`), with the viewer read
afresh, and is served by the process's `LiveUpdates` (`server/live.py`).

Close codes (`CloseCode`) follow the protocol's, plus Backlog's own in 4400-4499; 1001 on
shutdown, so clients reconnect to another process and resume from their last cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from auth.tokens import API_TOKEN_PREFIX, InvalidTokenError
from core.errors import BadUserInputError
from db.session import DatabaseUnavailableError, StatementTimeoutError
from execution.subscriptions import open_subscription
from resolvers.context import Context
from server.errors import client_errors
from server.graphql_view import bearer_token, viewer_of
from server.live import LiveUpdates, Subscriber, SubscriptionEnded, membership_ended
from server.rate_limit import refusal

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from starlette.types import Message
    from strawberry import Schema

    from auth.tokens import AccessTokenIssuer
    from auth.viewer import Viewer
    from db.session import Database
    from resolvers.subscriptions import Topic
    from server.rate_limit import RateLimiter
    from server.settings import Settings

logger = logging.getLogger("backlog.live")

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

CLOSE_TIMEOUT_S = 30.0
"""How long closing waits for a client that reads nothing before dropping the connection (its
close frame waits behind what the client has not read yet)."""


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    """The server is shutting down: reconnect (to another process) and resume."""
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    """The database could not be reached to authenticate: reconnect shortly."""
    BAD_REQUEST = 4400
    """A message that is not JSON, not text, of an unknown type or without its fields."""
    UNAUTHORIZED = 4401
    """`subscribe` before the connection was acknowledged."""
    FORBIDDEN = 4403
    """`connection_init` with a credential that is invalid, expired or revoked."""
    SUBPROTOCOL_NOT_ACCEPTABLE = 4406
    INIT_TIMEOUT = 4408
    """No `connection_init` within `BACKLOG_WS_INIT_TIMEOUT_S`."""
    SUBSCRIBER_EXISTS = 4409
    """`subscribe` with the id of a subscription still running."""
    TOO_MANY_INIT = 4429
    TOKEN_EXPIRED = 4440
    """The access token expired while connected: refresh it, reconnect, and resume."""
    TOO_MANY_CONNECTIONS = 4441
    """The user has `BACKLOG_WS_MAX_CONNECTIONS_PER_USER` connections open to this process."""
    SLOW_CONSUMER = 4490
    """More than `BACKLOG_WS_MAX_QUEUED` events waited for the client: reconnect and resume from
    the last cursor applied."""


class _Protocol:
    """The message types of one of the two protocols."""

    def __init__(self, name: str) -> None:
        legacy = name == LEGACY_WS
        self.name = name
        self.subscribe = "start" if legacy else "subscribe"
        self.stop = "stop" if legacy else "complete"
        self.next = "data" if legacy else "next"
        self.keepalive = "ka" if legacy else "ping"
        self.legacy = legacy


# No repr: it would print the settings, secrets included.
@dataclass(eq=False, repr=False)
class WebSockets:
    """The `/graphql` WebSocket endpoint, and every connection this process holds."""

    schema: Schema
    settings: Settings
    limiter: RateLimiter
    access_tokens: AccessTokenIssuer
    connections: set[Connection] = field(default_factory=set, init=False)
    per_user: Counter[int] = field(default_factory=Counter, init=False)
    """Connections past `connection_init`, per signed-in user: at most
    `BACKLOG_WS_MAX_CONNECTIONS_PER_USER`."""
    subscriptions_per_user: Counter[int] = field(default_factory=Counter, init=False)
    closing: bool = field(default=False, init=False)
    """Set by `close_all` at shutdown: a connection opened after it is refused."""

    async def endpoint(self, websocket: WebSocket) -> None:
        offered = websocket.scope.get("subprotocols") or []
        chosen = next((p for p in (TRANSPORT_WS, LEGACY_WS) if p in offered), None)
        await websocket.accept(subprotocol=chosen)
        if chosen is None:
            await websocket.close(
                CloseCode.SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable"
            )
            return
        if self.closing:
            await websocket.close(CloseCode.GOING_AWAY, "The server is shutting down.")
            return
        connection = Connection(self, websocket, _Protocol(chosen))
        self.connections.add(connection)
        try:
            await connection.serve()
        finally:
            self.connections.discard(connection)
            if connection.counted is not None:
                _count_down(self.per_user, connection.counted)

    async def close_all(self, code: int, reason: str) -> None:
        """Close every connection (on shutdown, with 1001), and accept no more."""
        self.closing = True
        await asyncio.gather(
            *(connection.close(code, reason) for connection in list(self.connections)),
            return_exceptions=True,
        )


class Connection:
    """One WebSocket: its viewer once initialised, and its running subscriptions."""

    def __init__(self, server: WebSockets, websocket: WebSocket, protocol: _Protocol) -> None:
        self.server = server
        self.websocket = websocket
        self.protocol = protocol
        self.settings = server.settings
        self.authorization: str | None = None
        self.viewer: Viewer | None = None
        self.counted: int | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.subscribers: dict[str, Subscriber] = {}
        self.queued = 0
        self.max_queued = server.settings.ws_max_queued
        self.closed = False
        self._timers: list[asyncio.Task[None]] = []
        self._hung_up = asyncio.Event()
        self._overflowed = False

    @property
    def live(self) -> LiveUpdates | None:
        return getattr(self.websocket.app.state, "live", None)

    # -- the connection's life ------------------------------------------------------------

    async def serve(self) -> None:
        self._timers.append(asyncio.create_task(self._init_timeout()))
        try:
            while not self.closed:
                message = await self._next_message()
                if message is None or message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    await self.close(CloseCode.BAD_REQUEST, "Messages must be text (JSON).")
                    break
                try:
                    data = orjson.loads(text)
                except orjson.JSONDecodeError:
                    await self.close(CloseCode.BAD_REQUEST, "Invalid message received: not JSON.")
                    break
                if not isinstance(data, dict) or not isinstance(data.get("type"), str):
                    await self.close(CloseCode.BAD_REQUEST, "Invalid message received: no type.")
                    break
                await self._handle(data)
        except WebSocketDisconnect:
            pass
        finally:
            self.closed = True
            for task in [*self._timers, *self.operations.values()]:
                task.cancel()
            await asyncio.gather(*self._timers, *self.operations.values(), return_exceptions=True)

    async def _next_message(self) -> Message | None:
        """The client's next message; None once the connection was closed from this side (the
        client may never send another)."""
        receiving = asyncio.ensure_future(self.websocket.receive())
        hung_up = asyncio.ensure_future(self._hung_up.wait())
        try:
            await asyncio.wait({receiving, hung_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hung_up.cancel()
            if not receiving.done():
                receiving.cancel()
        return receiving.result() if not receiving.cancelled() else None

    async def close(self, code: int, reason: str) -> None:
        """Send the close frame (waiting at most `CLOSE_TIMEOUT_S` for a client that reads
        nothing) and stop serving the connection, whichever task calls it."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.websocket.client_state is WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    closing = self.websocket.close(code, _close_reason(reason))
                    await asyncio.wait_for(closing, CLOSE_TIMEOUT_S)
        finally:
            self._hung_up.set()

    def overflow(self) -> None:
        """A `Sink`'s: the client does not keep up; it reconnects and resumes from its cursor."""
        if self._overflowed:
            return
        self._overflowed = True
        for operation in self.operations.values():
            operation.cancel()
        task = asyncio.get_running_loop().create_task(
            self.close(
                CloseCode.SLOW_CONSUMER,
                "Too many events waited for you: reconnect and resume from your last cursor.",
            )
        )
        self._timers.append(task)

    async def _init_timeout(self) -> None:
        await asyncio.sleep(self.settings.ws_init_timeout_s)
        if self.viewer is None:
            await self.close(CloseCode.INIT_TIMEOUT, "Connection initialisation timeout")

    async def _keepalive(self) -> None:
        message = orjson.dumps({"type": self.protocol.keepalive}).decode()
        while not self.closed:
            await asyncio.sleep(self.settings.ws_keepalive_s)
            await self._send(message)

    async def _expire(self, at: datetime) -> None:
        await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))
        await self.close(
            CloseCode.TOKEN_EXPIRED, "The access token expired: refresh it and reconnect."
        )

    async def _send(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed = True

    async def _send_json(self, message: dict[str, Any]) -> None:
        await self._send(orjson.dumps(message).decode())

    # -- messages --------------------------------------------------------------------------

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        protocol = self.protocol
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == protocol.subscribe:
            await self._subscribe(message)
        elif kind == protocol.stop:
            operation_id = message.get("id")
            task = (
                self.operations.pop(operation_id, None) if isinstance(operation_id, str) else None
            )
            if task is not None:
                task.cancel()
                if protocol.legacy:
                    await self._send_json({"id": operation_id, "type": "complete"})
        elif kind == "ping" and not protocol.legacy:
            pong: dict[str, Any] = {"type": "pong"}
            if "payload" in message:
                pong["payload"] = message["payload"]
            await self._send_json(pong)
        elif kind == "pong" and not protocol.legacy:
            pass
        elif kind == "connection_terminate" and protocol.legacy:
            await self.close(CloseCode.NORMAL, "Terminated")
        else:
            await self.close(CloseCode.BAD_REQUEST, f"Unknown message type: {kind[:64]!r}")

    async def _init(self, payload: Any) -> None:
        if self.authorization is not None or self.viewer is not None:
            await self.close(CloseCode.TOO_MANY_INIT, "Too many initialisation requests")
            return
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            await self.close(CloseCode.BAD_REQUEST, "Invalid connection_init payload")
            return
        authorization = payload.get("Authorization", payload.get("authorization"))
        if authorization is not None and not isinstance(authorization, str):
            await self.close(CloseCode.FORBIDDEN, "Forbidden")
            return
        if authorization is None and not self.settings.is_development:
            await self._refuse(
                CloseCode.FORBIDDEN,
                'Forbidden: pass {"Authorization": "Bearer <token>"} in connection_init.',
            )
            return
        try:
            viewer = await self._viewer(authorization)
        except InvalidTokenError:
            await self._refuse(CloseCode.FORBIDDEN, "Forbidden: the token is invalid or expired.")
            return
        except (DatabaseUnavailableError, StatementTimeoutError):
            await self._refuse(CloseCode.TRY_AGAIN_LATER, "The database is unavailable; retry.")
            return
        if viewer.user_id is not None:
            server = self.server
            if server.per_user[viewer.user_id] >= self.settings.ws_max_connections_per_user:
                await self._refuse(
                    CloseCode.TOO_MANY_CONNECTIONS,
                    f"At most {self.settings.ws_max_connections_per_user} connections a user.",
                )
                return
            server.per_user[viewer.user_id] += 1
            self.counted = viewer.user_id
        self.authorization, self.viewer = authorization, viewer
        expiry = self._expiry(authorization)
        if expiry is not None:
            self._timers.append(asyncio.create_task(self._expire(expiry)))
        self._timers.append(asyncio.create_task(self._keepalive()))
        self._timers.append(asyncio.create_task(self._recheck()))
        await self._send_json({"type": "connection_ack"})

    async def _refuse(self, code: int, reason: str) -> None:
        """`connection_init` refused: the legacy protocol says why in a message first."""
        if self.protocol.legacy:
            await self._send_json({"type": "connection_error", "payload": {"message": reason}})
        await self.close(code, reason)

    async def _recheck(self) -> None:
        """Every `BACKLOG_WS_RECHECK_S`: the credential again (revoked, expired, its user
        deleted: the connection is closed), and the workspaces of running subscriptions (one the
        viewer is no longer a member of, deleted for instance, ends them)."""
        while not self.closed:
            await asyncio.sleep(self.settings.ws_recheck_s)
            try:
                viewer = await self._viewer(self.authorization)
            except InvalidTokenError:
                await self._credential_gone()
                return
            except (DatabaseUnavailableError, StatementTimeoutError):
                continue  # checked again next time
            for subscriber in list(self.subscribers.values()):
                if viewer.role_in(subscriber.topic.workspace_id) is None:
                    subscriber.end(membership_ended())

    async def _credential_gone(self) -> None:
        if self._expiry_passed():
            await self.close(
                CloseCode.TOKEN_EXPIRED, "The access token expired: refresh it and reconnect."
            )
        else:
            await self.close(
                CloseCode.FORBIDDEN, "Forbidden: the credential was revoked; sign in again."
            )

    def _expiry_passed(self) -> bool:
        try:
            expiry = self._expiry(self.authorization)
        except InvalidTokenError:
            return True  # an access token no longer valid: expired (its signature was checked)
        return expiry is not None and expiry <= datetime.now(UTC)

    def _expiry(self, authorization: str | None) -> datetime | None:
        """When an access token expires (API tokens do not while they are not revoked)."""
        if authorization is None:
            return None
        token = bearer_token(authorization)
        if token.startswith(API_TOKEN_PREFIX):
            return None
        return self.server.access_tokens.expiry_of(token)

    async def _viewer(self, authorization: str | None) -> Viewer:
        database: Database = self.websocket.app.state.database
        db = database.request_handle(snapshot=True)
        try:
            return await viewer_of(db, authorization, self.settings, self.server.access_tokens)
        finally:
            await db.close()

    async def _subscribe(self, message: dict[str, Any]) -> None:
        operation_id = message.get("id")
        payload = message.get("payload")
        if (
            not isinstance(operation_id, str)
            or not isinstance(payload, dict)
            or not isinstance(payload.get("query"), str)
            or not isinstance(payload.get("variables") or {}, dict)
            or not isinstance(payload.get("operationName") or "", str)
        ):
            await self.close(CloseCode.BAD_REQUEST, "Invalid subscribe message")
            return
        if self.viewer is None:
            if self.protocol.legacy:
                await self._error(operation_id, [_message("Send connection_init first.")])
            else:
                await self.close(CloseCode.UNAUTHORIZED, "Unauthorized")
            return
        if operation_id in self.operations:
            await self.close(
                CloseCode.SUBSCRIBER_EXISTS, f"Subscriber for {operation_id[:64]} already exists"
            )
            return
        refusal = self._over_a_limit()
        if refusal is not None:
            await self._error(operation_id, [_formatted(refusal)])
            return
        task = asyncio.create_task(self._run(operation_id, payload))
        self.operations[operation_id] = task
        running = self.server.subscriptions_per_user
        user = self.counted or 0
        running[user] += 1
        # Counted down however the task ends, even cancelled before it ever ran.
        task.add_done_callback(lambda _: _count_down(running, user))

    def _over_a_limit(self) -> BadUserInputError | None:
        """Why one more subscription may not run, if it may not: the connection's limit, or its
        user's across their connections to this process."""
        settings = self.settings
        if len(self.operations) >= settings.ws_max_subscriptions:
            limit = settings.ws_max_subscriptions
            return BadUserInputError(
                f"At most {limit} subscriptions run on one connection; complete one first.",
                limit=limit,
            )
        running = self.server.subscriptions_per_user[self.counted or 0]
        if self.counted is not None and running >= settings.ws_max_subscriptions_per_user:
            limit = settings.ws_max_subscriptions_per_user
            return BadUserInputError(
                f"At most {limit} subscriptions of one user run at once; complete one first.",
                limit=limit,
            )
        return None

    async def _error(self, operation_id: str, errors: Sequence[Mapping[str, Any]]) -> None:
        await self._send_json({"id": operation_id, "type": "error", "payload": errors})

    # -- one subscription ------------------------------------------------------------------

    async def _run(self, operation_id: str, payload: dict[str, Any]) -> None:
        subscriber: Subscriber | None = None
        try:
            subscriber = await self._open(operation_id, payload)
            if subscriber is None:
                return
            self.subscribers[operation_id] = subscriber
            prefix = '{"id":' + orjson.dumps(operation_id).decode()
            prefix += ',"type":"' + self.protocol.next + '","payload":'
            try:
                async for event in subscriber:
                    await self._send(prefix + event + "}")
            except SubscriptionEnded as ended:
                await self._error(operation_id, [ended.error.formatted])
                return
            await self._send_json({"id": operation_id, "type": "complete"})
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("subscription failed")
            await self._error(
                operation_id, [_message("Unexpected error.", "INTERNAL_SERVER_ERROR")]
            )
        finally:
            if subscriber is not None and self.live is not None:
                self.live.leave(subscriber)
            if self.subscribers.get(operation_id) is subscriber:
                del self.subscribers[operation_id]
            if self.operations.get(operation_id) is asyncio.current_task():
                del self.operations[operation_id]

    async def _open(self, operation_id: str, payload: dict[str, Any]) -> Subscriber | None:
        """The subscription through the same checks as a request, or None once its errors were
        sent."""
        live = self.live
        if live is None:
            await self._error(operation_id, [_message("Live updates are not served here.")])
            return None
        database: Database = self.websocket.app.state.database
        db = database.request_handle(snapshot=True)
        server = self.server
        try:
            try:
                viewer = await viewer_of(
                    db, self.authorization, self.settings, server.access_tokens
                )
            except InvalidTokenError:
                await self._credential_gone()
                return None
            context = Context.for_request(
                self.websocket, db, viewer, self.settings, server.access_tokens
            )
            context.live = _Opener(self, viewer)
            if server.limiter.enabled:
                admitted = await server.limiter.charge(
                    [server.limiter.admission(viewer, context.client_address)]
                )
                context.rate_limit = admitted.status
                if not admitted.allowed:
                    error = refusal(admitted, admitted.status)
                    await self._error(operation_id, [_formatted(error)])
                    return None
            query = payload["query"]
            variables = payload.get("variables") or None
            operation_name = payload.get("operationName") or None
            opened = await open_subscription(
                server.schema, query, variables, operation_name, context
            )
        except (DatabaseUnavailableError, StatementTimeoutError) as error:
            await self._error(operation_id, [_formatted(error)])
            return None
        finally:
            await db.close()
        if opened.errors or not isinstance(opened.source, Subscriber):
            await self._error(operation_id, [e.formatted for e in opened.errors])
            return None
        assert opened.document is not None
        subscriber = opened.source
        subscriber.attach(query, opened.document, variables, operation_name)
        live.join(subscriber)
        return subscriber


class _Opener:
    """`Context.live` of one subscribe message: the subscription's source stream is a
    `Subscriber` queued to this connection."""

    def __init__(self, connection: Connection, viewer: Viewer) -> None:
        self.connection = connection
        self.viewer = viewer

    def open(self, topic: Topic) -> Subscriber:
        return Subscriber(self.connection, topic, self.viewer)


def _formatted(error: Exception) -> Mapping[str, Any]:
    [masked] = client_errors([GraphQLError(str(error), original_error=error)])
    return masked.formatted


def _message(message: str, code: str = "BAD_REQUEST") -> Mapping[str, Any]:
    return {"message": message, "extensions": {"code": code}}


MAX_CLOSE_REASON_BYTES = 123
"""What a close frame holds of its reason (RFC 6455: 125 bytes of payload, 2 of them the code)."""


def _close_reason(reason: str) -> str:
    """`reason`, cut to fit a close frame without splitting a character."""
    return reason.encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")


def _count_down(counter: Counter[int], key: int) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
