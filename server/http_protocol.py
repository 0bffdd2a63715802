"""uvicorn's HTTP/1.1 protocol (httptools) with the two limits on a request's head it lacks.

A request's head is its request line and headers. uvicorn's httptools protocol takes a head of
any size and waits for it forever: its keep-alive timeout runs only between requests, and
`h11_max_incomplete_event_size` bounds only the (slower, pure Python) h11 protocol. Here a head
larger than `max_head_bytes` is answered 431, and one that has not fully arrived
`head_timeout_s` after the connection opened or the request began is answered 408 (or, if not a
byte of it came, not answered); either way the connection is closed. A body's own deadline is
`server.http_hardening.BodyDeadline`'s.

    uvicorn.run(app, http=bounded_protocol(max_head_bytes=65536, head_timeout_s=10))

Internal to uvicorn: `HttpToolsProtocol` and its parser callbacks are not public API (written
against uvicorn 0.54); this module is all of Backlog that uses them.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["BoundedHeadProtocol", "bounded_protocol"]


def bounded_protocol(*, max_head_bytes: int, head_timeout_s: float) -> Any:
    """What uvicorn's `http` option takes: a protocol factory (picklable, for `--workers`)."""
    return functools.partial(
        BoundedHeadProtocol, max_head_bytes=max_head_bytes, head_timeout_s=head_timeout_s
    )


class BoundedHeadProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, max_head_bytes: int, head_timeout_s: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_head_bytes = max_head_bytes
        self.head_timeout_s = head_timeout_s
        self.head_bytes: int | None = 0  # of the head being read so far; None: reading a body
        self.head_tail = b""  # the last bytes of it, where its blank line may have begun
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if self.head_bytes is not None:
            # Measured before the parser sees the bytes: up to the blank line ending the head.
            seen = self.head_tail + data
            end = _head_end(seen)
            size = self.head_bytes + (len(data) if end < 0 else end - len(self.head_tail))
            if size > self.max_head_bytes:
                self._refuse(431, "Request header fields too large.")
                return
            if end < 0:
                self.head_bytes, self.head_tail = size, seen[-3:]
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_head_timer()

    def on_headers_complete(self) -> None:
        self.head_bytes = None
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_bytes, self.head_tail = 0, b""  # what comes next is the next request's head

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self.head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if not self.head_bytes:
            # Nothing of a request arrived (an idle or pre-opened connection): nothing to answer.
            self.transport.close()
            return
        self._refuse(408, "Request timeout: the request's headers did not arrive in time.")

    def _refuse(self, status: int, message: str) -> None:
        self._stop_head_timer()
        self.head_bytes = None
        body = message.encode()
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\n" % (status, reason)
            + b"content-type: text/plain; charset=utf-8\r\n"
            + b"content-length: %d\r\n" % len(body)
            + b"x-content-type-options: nosniff\r\n"
            + b"connection: close\r\n\r\n"
            + body
        )
        self.transport.close()


def _head_end(data: bytes) -> int:
    """Where the blank line ending a head ends in `data`, or -1."""
    ends = [
        index + len(blank) for blank in (b"\r\n\r\n", b"\n\n") if (index := data.find(blank)) >= 0
    ]
    return min(ends, default=-1)
