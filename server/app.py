"""The Starlette application: `/graphql`, GraphiQL's assets (where served), `/healthz`,
`/readyz` and `/unsubscribe` (notification emails' one-click unsubscribe), behind the HTTP
layer's production defaults (`server/http_hardening.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import AsyncIterator
from types import FrameType
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.extensions import (
    MaxAliasesLimiter,
    QueryDepthLimiter,
)

from db.session import Database, create_engine
from db.subscriptions import StreamListener
from schema.build import build_schema
from server.cost import CostLimit
from server.errors import RETRY_AFTER_S, ClientErrors
from server.graphiql import graphiql_asset_routes, serves_graphiql
from server.graphql_view import GraphQLEndpoint
from server.http_hardening import hardening_middleware
from server.live import LiveUpdates
from server.preflight import BodySizeLimit, DocumentCache
from server.rate_limit import RateLimiter
from server.schema_exploration import SchemaExploration
from server.settings import Settings
from server.unsubscribe import UnsubscribeEndpoint
from server.websocket import CloseCode, WebSockets
from server.worker import outbox_worker

RATE_LIMIT_POOL_SIZE = 2


def create_schema(settings: Settings, limiter: RateLimiter):
    # The limiters' rule classes are made once, so the validation cache (keyed by document
    # and rules) hits; a limiter built per request would bring new classes every time.
    limit_rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    return build_schema(
        extensions=[
            # First, so it leaves last: it sees every error, ClientErrors' rewrites included.
            lambda: SchemaExploration(settings.introspection),
            ClientErrors,
            lambda: CostLimit(max_cost=settings.max_cost, limiter=limiter),
            # Per-process caches of parsed and validated documents (bounded LRUs keyed by the
            # query text, then by its parsed document): clients send the same few documents
            # again and again.
            lambda: DocumentCache(max_tokens=settings.max_tokens, rules=limit_rules),
        ],
        level_executor=settings.level_executor,
    )


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    rate_limit_database: Database | None = None,
) -> Starlette:
    """The app; `database` is for tests, which hand in one bound to a rolled-back transaction,
    and may hand the rate limiter another (else it shares `database`)."""
    settings = settings or Settings()
    if settings.database_url is None and database is None:
        raise RuntimeError("DATABASE_URL is not set (`backlog serve` sets it for you).")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = database is None
        app.state.database = database or Database(
            create_engine(
                settings.database_url or "",
                pool_size=settings.db_pool_size,
                statement_timeout_ms=settings.statement_timeout_ms,
            )
        )
        # Its own pool (two connections, four at peak): a request charges its rate limit while
        # holding its connection, which must never wait for another one of the same pool.
        limiter.database = (
            rate_limit_database
            or database
            or Database(
                create_engine(
                    settings.database_url or "",
                    pool_size=RATE_LIMIT_POOL_SIZE,
                    statement_timeout_ms=settings.statement_timeout_ms,
                    application_name="backlog-rate-limits",
                )
            )
        )
        tune_garbage_collector()
        background = [asyncio.create_task(limiter.forget_stale_windows_forever())]
        live = None
        if owned and settings.database_url is not None:
            live = LiveUpdates(schema, settings, app.state.database, graphql.access_tokens)
            background.append(
                asyncio.create_task(StreamListener(settings.database_url, live.changed).run())
            )
            close_sockets_before_exit(websockets)
        outbox_pool = None
        if owned and settings.database_url is not None and settings.outbox_worker:
            worker, outbox_pool = outbox_worker(settings)
            background.append(asyncio.create_task(worker.run()))
        app.state.live = live
        try:
            yield
        finally:
            await websockets.close_all(CloseCode.GOING_AWAY, GOING_AWAY)
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if live is not None:
                await live.stop()
            if outbox_pool is not None:
                await outbox_pool.dispose()
            if owned:
                await app.state.database.dispose()
                await limiter.database.dispose()

    limiter = RateLimiter(settings)
    schema = create_schema(settings, limiter)
    graphql = GraphQLEndpoint(schema, settings, limiter)
    websockets = WebSockets(schema, settings, limiter, graphql.access_tokens)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", websockets.endpoint),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route(
            "/unsubscribe",
            UnsubscribeEndpoint(graphql.access_tokens.secret).respond,
            methods=["GET", "POST"],
        ),
    ]
    if serves_graphiql(enabled=settings.graphiql, cdn_allowed=settings.is_development):
        routes += graphiql_asset_routes()
    else:
        graphql.graphql_ide = None  # Strawberry's view then answers a browser's GET with 404
    app = Starlette(
        routes=routes,
        middleware=[
            *hardening_middleware(settings),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
    if database is not None:
        # Tests drive the app without running its lifespan.
        app.state.database = database
        limiter.database = rate_limit_database or database
    return app


GOING_AWAY = "The server is shutting down: reconnect and resume from your last cursor."


def close_sockets_before_exit(websockets: WebSockets) -> None:
    """On SIGTERM or SIGINT, close every WebSocket with 1001 first, then let uvicorn shut down
    as it would have (it would close them with 1012, which `graphql-ws` clients do not retry)."""
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        async def going_away(
            signum: int, frame: FrameType | None, previous: Any = previous
        ) -> None:
            try:
                await asyncio.wait_for(websockets.close_all(CloseCode.GOING_AWAY, GOING_AWAY), 5)
            finally:
                previous(signum, frame)

        def on_signal(signum: int, frame: FrameType | None, going_away: Any = going_away) -> None:
            task = loop.create_task(going_away(signum, frame))
            closing.add(task)
            task.add_done_callback(closing.discard)

        try:
            signal.signal(signum, on_signal)
        except ValueError:  # not the main thread (an app run by tests): nothing to hook
            return


def tune_garbage_collector() -> None:
    """Collect cycles less often, and never re-scan what start-up built.

    Measured on the list view: with Python's default thresholds the cycle collector took a third
    of the CPU of a request, mostly re-walking long-lived objects (the schema, SQLAlchemy's
    compiled statements). Requests leave no reference cycles (`tests/performance/test_memory.py`):
    reference counting frees each request's objects when it ends, and under load the collector
    finds nothing. It stays on, rarely, for the cycles a library still makes on rare paths (a
    syntax error's traceback).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def create_app_from_environment() -> Starlette:
    """Entry point for uvicorn's `--factory` worker processes."""
    return create_app(Settings())


READY_TIMEOUT_S = 2.0
"""How long `/readyz` waits for the database before answering 503."""


async def healthz(request: Request) -> JSONResponse:
    """The process: it answers. Whether the database does is `/readyz`'s question, so that a
    supervisor does not restart a healthy process for a database outage."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database: 200 once a statement runs on a pooled connection, 503 otherwise (with
    `Retry-After`). A connection that failed is discarded, so this recovers by itself."""
    database: Database = request.app.state.database
    handle = database.request_handle()
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await handle.scalar(text("SELECT 1"))
    except Exception as error:  # any failure means "not ready"
        failure = handle.failure or error.__cause__ or error
        return JSONResponse(
            {"status": "unavailable", "database": type(failure).__name__},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    finally:
        await handle.close()
    return JSONResponse({"status": "ok", "database": "reachable"})
