"""The Starlette application: `/graphql`, GraphiQL's assets (where served), `/healthz` and
`/readyz`, behind the HTTP layer's production defaults (`server/http_hardening.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    ValidationCache,
)

from db.session import Database, create_engine
from schema.build import build_schema
from server.cost import CostLimit
from server.errors import RETRY_AFTER_S, ClientErrors
from server.graphiql import graphiql_asset_routes, serves_graphiql
from server.graphql_view import GraphQLEndpoint
from server.http_hardening import hardening_middleware
from server.preflight import BodySizeLimit, ParsedDocumentCache
from server.rate_limit import RateLimiter
from server.schema_exploration import SchemaExploration
from server.settings import Settings

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
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: CostLimit(max_cost=settings.max_cost, limiter=limiter),
            lambda: AddValidationRules(limit_rules),
            # Per-process caches of parsed and validated documents (bounded LRUs keyed by the
            # query text): clients send the same few documents again and again.
            ParsedDocumentCache,
            lambda: ValidationCache(maxsize=256),
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
        cleanup = asyncio.create_task(limiter.forget_stale_windows_forever())
        try:
            yield
        finally:
            cleanup.cancel()
            if owned:
                await app.state.database.dispose()
                await limiter.database.dispose()

    limiter = RateLimiter(settings)
    graphql = GraphQLEndpoint(create_schema(settings, limiter), settings, limiter)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
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
