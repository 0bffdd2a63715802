"""A plain WebSocket client of `/graphql`'s subscriptions (the `websockets` library), for tests
that watch the protocol itself: every message it receives, and the close code."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import websockets
from websockets.exceptions import ConnectionClosed

TRANSPORT_WS = "graphql-transport-ws"
WITHIN_S = 10.0

# One issue's events (`$i`) from a cursor (`$after`) on: the values its changes set, or its title.
ISSUE_NEW_VALUES = (
    "subscription($i: ID, $after: String) "
    "{ issueChanged(issueId: $i, after: $after) { changes { toValue } } }"
)
ISSUE_TITLES = (
    "subscription($i: ID, $after: String) "
    "{ issueChanged(issueId: $i, after: $after) { issue { title } } }"
)


class Socket:
    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    async def open(
        cls,
        port: int,
        token: str | None = None,
        *,
        protocol: str | None = TRANSPORT_WS,
        init: bool = True,
        **options: Any,
    ) -> Socket:
        connection = await websockets.connect(
            f"ws://127.0.0.1:{port}/graphql",
            subprotocols=[protocol] if protocol else None,  # type: ignore[list-item]
            **options,
        )
        socket = cls(connection)
        if init:
            payload = {"Authorization": f"Bearer {token}"} if token else {}
            await socket.send({"type": "connection_init", "payload": payload})
            assert (await socket.receive())["type"] == "connection_ack"
        return socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    async def receive(self, within_s: float = WITHIN_S) -> dict[str, Any]:
        """The next message other than the server's keep-alive pings (answered)."""
        while True:
            message = orjson.loads(await asyncio.wait_for(self.connection.recv(), within_s))
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )

    async def event(self, operation_id: str, within_s: float = WITHIN_S) -> dict[str, Any]:
        """The data of the next `next` message (of `operation_id`: others fail the test)."""
        message = await self.receive(within_s)
        assert message.get("id") == operation_id, message
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]

    async def nothing_within(self, seconds: float) -> None:
        """No message other than pings for `seconds`."""
        try:
            message = await self.receive(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message}")

    async def closed(self, within_s: float = WITHIN_S) -> tuple[int | None, str]:
        """The close code and reason once the server has closed the connection (messages in
        between are read and dropped)."""
        try:
            async with asyncio.timeout(within_s):
                while True:
                    await self.connection.recv()
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return (frame.code, frame.reason) if frame is not None else (None, "")
        raise AssertionError("the connection stayed open")

    async def close(self) -> None:
        await self.connection.close()


@asynccontextmanager
async def all_closed(sockets: Iterable[Socket]) -> AsyncIterator[None]:
    """Closes every one of `sockets` on the way out, whatever happened inside."""
    try:
        yield
    finally:
        for socket in sockets:
            await socket.close()


class SilentSocket:
    """A WebSocket client that reads nothing until asked: a client that stalls. (The
    `websockets` library reads ahead into memory whatever its `max_queue`, so it cannot play
    one.) Plain blocking sockets, for a thread."""

    def __init__(self, port: int) -> None:
        self.socket = socket.socket()
        # A fixed window (loopback's would grow to megabytes), yet larger than a segment: a
        # window smaller than one leaves the sender to slow zero-window probes.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 262_144)
        self.socket.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.socket.sendall(
            f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {TRANSPORT_WS}\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.socket.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send(self, message: dict[str, Any]) -> None:
        data = orjson.dumps(message)
        mask = os.urandom(4)
        length = len(data)
        if length < 126:
            head = bytes([0x81, 0x80 | length])
        elif length < 65_536:
            head = bytes([0x81, 0x80 | 126]) + struct.pack("!H", length)
        else:
            head = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", length)
        masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(data))
        self.socket.sendall(head + mask + masked)

    def close_code(self, within_s: float = WITHIN_S) -> int | None:
        """Reads everything sent; the code of the close frame at its end (None: no frame)."""
        self.socket.settimeout(within_s)
        buffer = bytearray()
        while True:
            chunk = self.socket.recv(1 << 20)
            if not chunk:
                return None
            buffer += chunk
            while len(buffer) >= 2:
                opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
                if length == 126:
                    (length,), start = struct.unpack("!H", buffer[2:4]), 4
                elif length == 127:
                    (length,), start = struct.unpack("!Q", buffer[2:10]), 10
                if len(buffer) < start + length:
                    break
                if opcode == 0x8:
                    return int(struct.unpack("!H", buffer[start : start + 2])[0])
                del buffer[: start + length]

    def close(self) -> None:
        self.socket.close()
