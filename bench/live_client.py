"""One subscriber process of `python -m bench live`: many WebSocket subscribers in one event loop.

Started by bench/live.py (multiprocessing, spawn), it holds its share of the subscribers, each a
connection of its own speaking `graphql-transport-ws`, and talks to the bench over a pipe:

    bench -> client                       client -> bench
                                          ("opened", connections, first error or None)
    ("sentinel", seq)                     ("ready",) once every subscriber received `seq`
    ("drain", last_seq, timeout_s)        ("done", [Received per subscriber])

Kept light on purpose (websockets, orjson, a regular expression): the clients share the
machine with the servers, so every microsecond they spend per message is the servers' loss. A
message is timed when it is read, before it is parsed, and only `next` messages are parsed, by
regular expression, for the two things the bench checks: the write's sequence number (in the
changed title's `toValue`) and the event's stream cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

SUBPROTOCOL = "graphql-transport-ws"
TITLE_MARK = "#live-"
# The changed title's new value ends with the write's sequence number, e.g. "… #live-42".
SEQ = re.compile(r'"toValue":"[^"]*' + TITLE_MARK + r'(\d+)"')
CURSOR = re.compile(r'"cursor":"([^"]+)"')
HANDSHAKES_AT_ONCE = 25
HANDSHAKE_TIMEOUT_S = 30.0
PONG = '{"type":"pong"}'


@dataclass
class Received:
    """What one subscriber received, in arrival order (`time.monotonic()`, one clock machine-wide
    on Linux, so the bench compares it with its own)."""

    server: int
    seqs: list[int] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    unmatched: int = 0  # `next` messages without a sequence number (not the bench's writes)
    error: str | None = None  # an `error` message, a close, or a failed handshake


@dataclass(frozen=True)
class ClientPlan:
    urls: tuple[str, ...]  # subscriber i connects to urls[i % len(urls)]
    indices: tuple[int, ...]  # the subscribers of this process
    subscribe: dict[str, Any]  # the `subscribe` message's payload
    compression: bool


def run(pipe: Connection, plan: ClientPlan) -> None:
    """The process's entry point."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_Clients(pipe, plan).main())


class _Clients:
    def __init__(self, pipe: Connection, plan: ClientPlan) -> None:
        self.pipe = pipe
        self.plan = plan
        self.received = [Received(server=i % len(plan.urls)) for i in plan.indices]
        self.sockets: list[ClientConnection] = []
        self.all_have: asyncio.Event = asyncio.Event()
        self.target: int | None = None
        self.pending: set[int] = set()

    async def main(self) -> None:
        gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
        opened = await asyncio.gather(
            *(
                self._open(index, received, gate)
                for index, received in zip(self.plan.indices, self.received, strict=True)
            )
        )
        readers = [
            asyncio.create_task(self._read(ws, number))
            for number, ws in enumerate(opened)
            if ws is not None
        ]
        errors = [r.error for r in self.received if r.error]
        self.pipe.send(("opened", len(readers), errors[0] if errors else None))
        try:
            while True:
                command = await asyncio.to_thread(self.pipe.recv)
                if command[0] == "sentinel":
                    await self._await_seq(command[1], within_s=60.0)
                    self.pipe.send(("ready",))
                elif command[0] == "drain":
                    await self._await_seq(command[1], within_s=command[2])
                    await asyncio.sleep(0.5)  # a duplicate sent late would still arrive
                    self.pipe.send(("done", self.received))
                    return
        finally:
            for task in readers:
                task.cancel()
            await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)

    async def _await_seq(self, seq: int, within_s: float) -> None:
        """Until every open subscriber received `seq` or later, or `within_s` seconds passed."""
        self.pending = {
            number
            for number, r in enumerate(self.received)
            if r.error is None and not (r.seqs and r.seqs[-1] >= seq)
        }
        self.target = seq
        self.all_have = asyncio.Event()
        if not self.pending:
            self.all_have.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_have.wait(), within_s)
        self.target = None

    def _reached(self, number: int) -> None:
        self.pending.discard(number)
        if not self.pending:
            self.all_have.set()

    async def _open(
        self, index: int, received: Received, gate: asyncio.Semaphore
    ) -> ClientConnection | None:
        url = self.plan.urls[index % len(self.plan.urls)]
        async with gate:
            try:
                ws = await connect(
                    url,
                    subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                    compression="deflate" if self.plan.compression else None,
                    ping_interval=None,  # the server pings; we answer
                    max_queue=None,
                    open_timeout=HANDSHAKE_TIMEOUT_S,
                )
                await ws.send('{"type":"connection_init","payload":{}}')
                ack = orjson.loads(await asyncio.wait_for(ws.recv(), HANDSHAKE_TIMEOUT_S))
                if ack.get("type") != "connection_ack":
                    received.error = f"no connection_ack: {ack!r}"[:300]
                    await ws.close()
                    return None
                message = {"id": "1", "type": "subscribe", "payload": self.plan.subscribe}
                await ws.send(orjson.dumps(message).decode())
            except (OSError, TimeoutError, ConnectionClosed) as error:
                received.error = f"handshake failed: {error!r}"[:300]
                return None
        self.sockets.append(ws)
        return ws

    async def _read(self, ws: ClientConnection, number: int) -> None:
        received = self.received[number]
        seqs, cursors, times = received.seqs, received.cursors, received.times
        try:
            async for message in ws:
                now = time.monotonic()
                text = message if isinstance(message, str) else message.decode()
                if '"type":"next"' in text[:64]:
                    seq = SEQ.search(text)
                    cursor = CURSOR.search(text)
                    if seq is None or cursor is None:
                        received.unmatched += 1
                        continue
                    seqs.append(int(seq.group(1)))
                    cursors.append(cursor.group(1))
                    times.append(now)
                    if self.target is not None and seqs[-1] >= self.target:
                        self._reached(number)
                    continue
                kind = orjson.loads(text).get("type")
                if kind == "ping":
                    await ws.send(PONG)
                elif kind in ("error", "complete"):
                    received.error = f"{kind}: {text[:300]}"
                    self._reached(number)
                    return
        except ConnectionClosed as closed:
            received.error = f"closed: {closed.rcvd!r}"[:300]
            self._reached(number)
