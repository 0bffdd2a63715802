"""The HTTP layer's production defaults, as ASGI middleware around the whole app.

In request order:

1. `ProxyHeaders` (uvicorn's), only when `BACKLOG_TRUSTED_PROXIES` names a proxy: a request
   from one of those addresses takes its client address from `X-Forwarded-For` (and its scheme
   from `X-Forwarded-Proto`). From anyone else those headers are ignored, and the client address
   (which the per-address sign-in throttle counts) is the connection's.
2. `ResponseHeaders`: `X-Content-Type-Options: nosniff` on every response; `Cache-Control:
   no-store` on every response to a request with credentials and on every one that does not set
   its own caching (GraphQL results, health checks); `Vary: Origin` where CORS answers differ by
   origin.
3. CORS (Starlette's), for the origins in `BACKLOG_CORS_ORIGINS` only (none by default: no
   page of another origin may read a response). Never with credentials: Backlog authenticates
   by Bearer token in `Authorization`, which a page sends explicitly, never by cookie, so
   `Access-Control-Allow-Credentials` is never sent and `*` is a valid entry.
4. `BodyDeadline`: a request body not fully received `BACKLOG_BODY_TIMEOUT_S` after its request
   began is answered 408, and the connection closed.

The head of a request (its size, its time to arrive) is bounded before any of this runs, by the
server's protocol: `server.http_protocol`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from server.preflight import HTTPMiddleware, run_refusing, send_error

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from server.settings import Settings

CORS_METHODS = ("GET", "POST")
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type")
CORS_EXPOSED_HEADERS = ("Retry-After", "WWW-Authenticate")
CORS_MAX_AGE_S = 600


def hardening_middleware(settings: Settings) -> list[Middleware]:
    """The middleware above, outermost first."""
    middleware = []
    if settings.trusted_proxies:
        middleware.append(
            Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
        )
    origins = settings.cors_origins
    middleware += [
        Middleware(ResponseHeaders, vary_origin=bool(origins) and "*" not in origins),
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            allow_credentials=False,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=CORS_MAX_AGE_S,
        ),
        Middleware(BodyDeadline, seconds=settings.body_timeout_s),
    ]
    return middleware


class ResponseHeaders(HTTPMiddleware):
    def __init__(self, app: ASGIApp, *, vary_origin: bool) -> None:
        super().__init__(app)
        self.vary_origin = vary_origin

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        with_credentials = any(name == b"authorization" for name, _ in scope["headers"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", ()))
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if with_credentials or "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if self.vary_origin and "origin" not in headers.get("vary", "").lower():
                    headers.append("Vary", "Origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTimeoutError(Exception):
    pass


class BodyDeadline(HTTPMiddleware):
    """The body must have arrived by a deadline counted from the request's start; what the app
    reads after it (waiting for a disconnect) has no deadline."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        super().__init__(app)
        self.seconds = seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_received = False

        async def receive_by_deadline() -> Message:
            nonlocal body_received
            if body_received:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutError from None
            body_received = message["type"] != "http.request" or not message.get("more_body")
            return message

        if await run_refusing(self.app, scope, receive_by_deadline, send, BodyTimeoutError):
            await send_error(
                send,
                408,
                f"The request body did not arrive within {self.seconds:g} s.",
                {"code": "REQUEST_TIMEOUT"},
                headers=((b"connection", b"close"),),
            )
