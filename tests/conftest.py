"""Test harness: one real PostgreSQL per run, each test inside a transaction that is rolled back.

The server is the embedded PostgreSQL in a throwaway folder, or TEST_DATABASE_URL's. A fresh
database is created on it, migrated and loaded with the demo data once (committed, so a real
server process can read it too); every test then runs in an outer transaction, and each request
the app handles runs in a SAVEPOINT of it (`Database.sharing`), so nothing a test writes survives.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.session import Database, StatementCounter, create_engine
from server.app import create_app
from server.settings import Settings
from tests.support.actors import OWNER, TEST_JWT_SECRET
from tests.support.credentials import signed_in_caller
from tests.support.factories import RaceWorkspace, race_workspace
from tests.support.graphql import GraphQL, graphql_caller
from tests.support.postgres import migrate_and_seed, new_database


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    from db.embedded import database_url, start_embedded_postgres

    with tempfile.TemporaryDirectory(prefix="backlog-test-") as folder:
        server = start_embedded_postgres(Path(folder) / "pgdata")
        try:
            yield database_url(server)
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
async def seeded_database_url(server_url: str) -> AsyncIterator[str]:
    """A new database on the test server, migrated and holding the demo data (committed)."""
    async with new_database(server_url, "backlog_test") as url:
        await migrate_and_seed(url)
        yield url


STATEMENT_TIMEOUT_MS = 5000


@pytest.fixture(scope="session")
async def engine(seeded_database_url: str) -> AsyncIterator[AsyncEngine]:
    # Ends a test that waits on a lock it will never get, well before the suite's own limits;
    # generous enough for a slow statement on a loaded 2-core machine.
    engine = create_engine(seeded_database_url, statement_timeout_ms=STATEMENT_TIMEOUT_MS)
    yield engine
    await engine.dispose()


@asynccontextmanager
async def rolled_back(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        # SQLAlchemy begins lazily; begin now, so request handles nest savepoints inside it.
        await connection.exec_driver_sql("SELECT 1")
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The test's connection, inside a transaction rolled back at the end."""
    async with rolled_back(engine) as connection:
        yield connection


@pytest.fixture
def statements(connection: AsyncConnection) -> Iterator[StatementCounter]:
    """Counts the SQL statements the app sends during a test."""
    counter = StatementCounter()
    counter.attach(connection.sync_connection)
    yield counter
    counter.detach(connection.sync_connection)


@pytest.fixture
async def rate_limit_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The rate limiter's connection, in a transaction of its own rolled back at the end: a
    request's charge must outlive the request's own savepoint, as it does in production (where
    the limiter has its own pool), and no test may spend another's budget."""
    async with rolled_back(engine) as connection:
        # What the servers of other tests committed (the browser test's, for the demo user) is
        # not this test's: it starts with no budget spent, and the delete is rolled back too.
        await connection.exec_driver_sql("DELETE FROM rate_limit_windows")
        yield connection


@pytest.fixture
def make_client(
    connection: AsyncConnection, rate_limit_connection: AsyncConnection, seeded_database_url: str
) -> Callable[..., httpx.AsyncClient]:
    def make(viewer: str = OWNER, **settings: Any) -> httpx.AsyncClient:
        settings.setdefault("BACKLOG_JWT_SECRET", TEST_JWT_SECRET)
        settings.setdefault("BACKLOG_ENV", "development")
        config = Settings(database_url=seeded_database_url, BACKLOG_DEMO_VIEWER=viewer, **settings)
        app = create_app(
            config,
            database=Database.sharing(connection),
            rate_limit_database=Database.sharing(rate_limit_connection),
        )
        transport = httpx.ASGITransport(app=app)
        return httpx.AsyncClient(transport=transport, base_url="http://backlog.test")

    return make


@pytest.fixture
async def client(make_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as client:
        yield client


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    """POST a document as the demo OWNER; returns the JSON body (`data` and `errors`)."""
    return graphql_caller(client)


@pytest.fixture
async def gql_as(
    make_client: Callable[..., httpx.AsyncClient], connection: AsyncConnection
) -> AsyncIterator[Callable[[str], GraphQL]]:
    """`gql_as(email)`: POST documents as that user, signed in with a real access token on a
    production-mode app (an email of no user: anonymous)."""
    async with make_client(BACKLOG_ENV="production") as client:

        def as_viewer(email: str) -> GraphQL:
            return signed_in_caller(client, connection, email)

        yield as_viewer


@pytest.fixture
async def race(engine: AsyncEngine, seeded_database_url: str) -> AsyncIterator[RaceWorkspace]:
    """A committed workspace of its own, deleted after the test (see `race_workspace`)."""
    async with race_workspace(engine, seeded_database_url) as workspace:
        yield workspace
