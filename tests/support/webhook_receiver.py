"""A real HTTP/1.1 receiver of webhook deliveries on a localhost port, for tests.

It verifies every request with the Standard Webhooks reference library (`standardwebhooks`) and
records it, and answers as the test asks (`Receiver.answer`): a status, after an event is set, a
redirect, a huge streamed body, or never. One request per connection, as the sender makes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

WAIT_S = 10.0


@dataclass(frozen=True)
class Delivery:
    """A request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: tuple[str, ...]
    """The secrets (of those the receiver knows) whose signature the request carries."""

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


Answer = Callable[["Delivery", asyncio.StreamWriter], Awaitable[None]]


async def reply(
    writer: asyncio.StreamWriter, status: int, body: bytes = b"", **headers: str
) -> None:
    head = f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\nconnection: close\r\n"
    head += "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()


async def accept(delivery: Delivery, writer: asyncio.StreamWriter) -> None:
    await reply(writer, 200, b"ok")


@dataclass
class Receiver:
    """`secrets`: those a delivery may be signed with (any one verifying it is enough)."""

    secrets: list[str]
    answer: Answer = accept
    tls: ssl.SSLContext | None = None
    received: list[Delivery] = field(default_factory=list)
    """Every request whose signature verified, as it arrived."""
    deliveries: list[Delivery] = field(default_factory=list)
    """Those answered in full: delivered, as far as the receiver knows."""
    refused: list[str] = field(default_factory=list)
    """Why requests that did not verify did not."""
    in_flight: dict[str, int] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)
    """webhook-ids that were in flight twice at one moment."""
    most_in_flight: int = 0
    """The most requests answered at one moment."""
    connections: int = 0
    server_names: list[str | None] = field(default_factory=list)
    """The TLS server names (SNI) clients asked for."""
    port: int = 0
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self, port: int = 0) -> None:
        if self.tls is not None:
            self.tls.sni_callback = self._note_server_name
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", port or self.port, ssl=self.tls
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for handler in list(self._handlers):  # a held request, say
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def url(self, path: str = "/hook", *, host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    async def wait_for(self, count: int, within_s: float = WAIT_S) -> list[Delivery]:
        """Once `count` deliveries verified; fails after `within_s`."""
        deadline = time.monotonic() + within_s
        while len(self.deliveries) < count:
            assert time.monotonic() < deadline, (
                f"{len(self.deliveries)} of {count} deliveries arrived; refused: {self.refused}"
            )
            await asyncio.sleep(0.02)
        return self.deliveries

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            delivery = Delivery(
                request_line.split(" ")[1], headers, body, self._verified_with(body, headers)
            )
            if not delivery.verified_with:
                self.refused.append(f"no signature verifies {headers}")
                await reply(writer, 400)
                return
            self.received.append(delivery)
            webhook_id = delivery.webhook_id
            if self.in_flight.get(webhook_id):
                self.overlaps.append(webhook_id)
            self.in_flight[webhook_id] = self.in_flight.get(webhook_id, 0) + 1
            self.most_in_flight = max(self.most_in_flight, sum(self.in_flight.values()))
            try:
                await self.answer(delivery, writer)
                self.deliveries.append(delivery)
            finally:
                self.in_flight[webhook_id] -= 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the sender went away: that delivery did not arrive
        finally:
            self._handlers.discard(handler)
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.CancelledError):
                await writer.wait_closed()

    def _note_server_name(self, _: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
        self.server_names.append(name)

    def _verified_with(self, body: bytes, headers: dict[str, str]) -> tuple[str, ...]:
        verified = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified.append(secret)
        return tuple(verified)
